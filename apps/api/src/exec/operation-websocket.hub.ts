// GET /1.0/operations/{id}/websocket?secret=...: the websockets of `websocket` class operations (exec; console and
// migration can register the same way). The secret authenticates, as in LXD (the endpoint allows untrusted
// clients). The daemon's one upgrade handler offers every upgrade request here (after /1.0/events).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ApiError, forbidden, internalError, notFound } from '../http/api-error.js';
import { errorBody } from '../http/envelope.js';
import { OperationsService } from '../operations/operations.service.js';

/** One operation's websockets. */
export interface OperationWebsocketHandler {
  /** Whether `secret` is one of this operation's. */
  owns(secret: string): boolean;
  /** Completes the upgrade for a secret it owns, or refuses it (writeError) when that socket is already taken. */
  upgrade(secret: string, req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Daemon shutdown: close everything. */
  close(): void;
}

const PATH = /^\/1\.0\/operations\/([^/]+)\/websocket\/?$/;

/** What LXD answers when a request can't be given a websocket; null when `handler` takes it. */
function refusal(operations: OperationsService, id: string, handler: OperationWebsocketHandler | undefined, secret: string): ApiError | null {
  if (!handler) {
    let op;
    try {
      op = operations.get(id);
    } catch {
      return notFound('Operation not found');
    }
    // LXD's Operation.Connect errors, rendered through SmartError as internal errors.
    if (op.class !== 'websocket') return internalError('Only websocket operations can be connected');
    return internalError('Only running operations can be connected');
  }
  // A wrong or missing secret is os.ErrPermission in LXD: 403.
  return secret !== '' && handler.owns(secret) ? null : forbidden();
}

export function writeError(socket: Duplex, err: ApiError): void {
  const body = errorBody(err.status, err.message);
  const text = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[err.status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${err.status} ${text}\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

@Injectable()
export class OperationWebsocketHub implements OnModuleDestroy {
  private readonly handlers = new Map<string, OperationWebsocketHandler>();

  constructor(private readonly operations: OperationsService) {}

  /** Routes the operation's websocket requests to `handler` until the returned function is called. */
  register(operationId: string, handler: OperationWebsocketHandler): () => void {
    this.handlers.set(operationId, handler);
    return () => {
      if (this.handlers.get(operationId) === handler) this.handlers.delete(operationId);
    };
  }

  /** Returns false when the request is not for an operation websocket (the caller answers it). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://lxd');
    const m = PATH.exec(url.pathname);
    if (!m) return false;
    let id: string;
    try {
      id = decodeURIComponent(m[1] as string);
    } catch {
      writeError(socket, notFound('Operation not found'));
      return true;
    }
    const secret = url.searchParams.get('secret') ?? '';
    const handler = this.handlers.get(id);
    const refused = refusal(this.operations, id, handler, secret);
    if (refused || !handler) writeError(socket, refused ?? notFound('Operation not found'));
    else handler.upgrade(secret, req, socket, head);
    return true;
  }

  /** The same endpoint without `Upgrade:` (the route table's GET): LXD's errors, then gorilla's refusal. */
  plainRequest(id: string, secret: string): ApiError {
    const refused = refusal(this.operations, id, this.handlers.get(id), secret);
    if (refused) return refused;
    return new ApiError(400, "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header");
  }

  close(): void {
    for (const h of [...this.handlers.values()]) h.close();
    this.handlers.clear();
  }

  onModuleDestroy(): void {
    this.close();
  }
}
