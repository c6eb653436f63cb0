// Error body of every failed agent request (status 4xx/5xx).

/** Machine-readable reason; the API maps it to LXD's message and status. */
export type AgentErrorCode =
  | 'bad_request' // malformed body or invalid value (400)
  | 'not_found' // unknown route, instance, volume or image (404)
  | 'conflict' // wrong state: already running, not running, not frozen, exists (409)
  | 'timeout' // graceful shutdown or command timed out (504)
  | 'start_failed' // liblxc refused to start the container; `error` carries the tail of lxc.log (500)
  | 'internal'; // anything else (500)

export interface AgentErrorBody {
  error: string;
  code: AgentErrorCode;
}
