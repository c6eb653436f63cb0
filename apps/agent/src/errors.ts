// The one error type of the agent. The HTTP server maps it to `{error, code}` with its status.
import type { AgentErrorCode } from '@lxdts/api-types';

const STATUS: Record<AgentErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  timeout: 504,
  start_failed: 500,
  internal: 500,
};

export class AgentError extends Error {
  readonly status: number;
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
    this.status = STATUS[code];
  }
}

export const badRequest = (message: string): AgentError => new AgentError('bad_request', message);
export const notFound = (message: string): AgentError => new AgentError('not_found', message);
export const conflict = (message: string): AgentError => new AgentError('conflict', message);
export const timedOut = (message: string): AgentError => new AgentError('timeout', message);

export function toAgentError(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  return new AgentError('internal', err instanceof Error ? err.message : String(err));
}
