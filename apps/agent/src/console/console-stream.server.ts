// `GET /instances/:lxcName/console` with `Upgrade: lxdts-console` on the agent socket: one ConsoleSession per
// connection. The agent's HTTP server offers upgrade requests to the exec stream first, then here.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AGENT_CONSOLE_UPGRADE, type AgentErrorBody } from '@lxdts/api-types';
import { ConsoleSession, type ConsoleSessionDeps } from './console-session.js';

const PATH = /^\/instances\/([^/]+)\/console$/;

function refuse(socket: Duplex, status: number, text: string, body: AgentErrorBody): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}

export class ConsoleStreamServer {
  private readonly sessions = new Set<ConsoleSession>();

  constructor(private readonly deps: ConsoleSessionDeps) {}

  /** Returns false when the request is not a console stream (the caller answers it). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://agent');
    const m = PATH.exec(url.pathname);
    if (!m) return false;
    if (req.method !== 'GET' || String(req.headers.upgrade ?? '').toLowerCase() !== AGENT_CONSOLE_UPGRADE) {
      refuse(socket, 400, 'Bad Request', { error: `Expected GET with Upgrade: ${AGENT_CONSOLE_UPGRADE}`, code: 'bad_request' });
      return true;
    }
    let lxcName: string;
    try {
      lxcName = decodeURIComponent(m[1] as string);
    } catch {
      refuse(socket, 400, 'Bad Request', { error: 'Invalid container name', code: 'bad_request' });
      return true;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${AGENT_CONSOLE_UPGRADE}\r\n\r\n`);
    const session = new ConsoleSession(socket, lxcName, this.deps, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    if (head.length > 0) session.receive(head);
    return true;
  }

  get active(): number {
    return this.sessions.size;
  }

  /** Detaches every session and closes its connection (agent shutdown); the containers keep running. */
  close(): void {
    for (const s of [...this.sessions]) s.destroy();
    this.sessions.clear();
  }
}
