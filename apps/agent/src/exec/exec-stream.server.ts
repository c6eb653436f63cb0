// `GET /instances/:lxcName/exec` with `Upgrade: lxdts-exec` on the agent socket: one ExecSession per connection.
// The HTTP server hands every upgrade request here first (see server/http-server.ts).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AGENT_EXEC_UPGRADE, type AgentErrorBody } from '@lxdts/api-types';
import { ExecSession, type ExecSessionDeps } from './exec-session.js';

const PATH = /^\/instances\/([^/]+)\/exec$/;

function refuse(socket: Duplex, status: number, text: string, body: AgentErrorBody): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}

export class ExecStreamServer {
  private readonly sessions = new Set<ExecSession>();

  constructor(private readonly deps: ExecSessionDeps) {}

  /** Returns false when the request is not an exec stream (the caller answers it). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://agent');
    const m = PATH.exec(url.pathname);
    if (!m) return false;
    if (req.method !== 'GET' || String(req.headers.upgrade ?? '').toLowerCase() !== AGENT_EXEC_UPGRADE) {
      refuse(socket, 400, 'Bad Request', { error: `Expected GET with Upgrade: ${AGENT_EXEC_UPGRADE}`, code: 'bad_request' });
      return true;
    }
    let lxcName: string;
    try {
      lxcName = decodeURIComponent(m[1] as string);
    } catch {
      refuse(socket, 400, 'Bad Request', { error: 'Invalid container name', code: 'bad_request' });
      return true;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${AGENT_EXEC_UPGRADE}\r\n\r\n`);
    const session = new ExecSession(socket, lxcName, this.deps, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    if (head.length > 0) session.receive(head);
    return true;
  }

  get active(): number {
    return this.sessions.size;
  }

  /** Kills every running command and closes its connection (agent shutdown). */
  close(): void {
    for (const s of [...this.sessions]) s.destroy();
    this.sessions.clear();
  }
}
