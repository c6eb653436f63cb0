// The one error type handlers throw. The router maps it to LXD's error envelope (rest-api.md "Error").

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, message);
export const forbidden = (message = 'not authorized'): ApiError => new ApiError(403, message);
export const notFound = (message = 'not found'): ApiError => new ApiError(404, message);
export const conflict = (message: string): ApiError => new ApiError(409, message);
export const preconditionFailed = (message: string): ApiError => new ApiError(412, message);
export const notImplemented = (message = 'not implemented'): ApiError => new ApiError(501, message);
export const internalError = (message: string): ApiError => new ApiError(500, message);

/** Maps anything thrown below a handler to an ApiError; unknown errors stay 500 but keep their message. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  // fastify's own request errors (body too large, bad content length, ...) carry a 4xx statusCode.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, String(e.message ?? 'bad request'));
  }
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT')) {
    return new ApiError(409, String(e.message));
  }
  // Clustered, a database without a leader (quorum lost, or an election that outlasted the client's retries)
  // is an unavailable service, said plainly, rather than an internal error.
  for (let c: unknown = err, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    if (c.name === 'NoLeaderError' || c.name === 'LeadershipLostError' || c.name === 'NotLeaderError') {
      return new ApiError(503, `Cluster database unavailable (no leader: are a majority of the database members down?): ${c.message}`);
    }
  }
  return new ApiError(500, err instanceof Error ? err.message : String(err));
}
