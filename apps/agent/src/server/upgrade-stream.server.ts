// `GET /instances/:lxcName/<segment>` with `Upgrade: <token>` on the agent socket: one framed session per connection.
// Exec and console streams are both served by this; each supplies its segment, upgrade token and session factory.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AgentErrorBody } from '@lxdts/api-types';

/** A session bound to one upgraded connection, through its channel (stream-channel.ts). */
export interface StreamSession {
  readonly channel: {
    /** Bytes from the client (here: what arrived with the upgrade request). */
    receive(chunk: Buffer): void;
    /** Closes the connection (agent shutdown). */
    destroy(): void;
  };
}

export interface UpgradeStreamOptions<S extends StreamSession> {
  /** The last path segment: `exec` serves `/instances/:lxcName/exec`. */
  segment: string;
  /** The `Upgrade:` token clients must send. */
  upgrade: string;
  /** Creates the session; it calls `onClosed` once its socket is closed. */
  open(socket: Duplex, lxcName: string, onClosed: (s: S) => void): S;
}

function refuse(socket: Duplex, status: number, text: string, body: AgentErrorBody): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}

export class UpgradeStreamServer<S extends StreamSession> {
  private readonly sessions = new Set<S>();
  private readonly path: RegExp;

  constructor(private readonly options: UpgradeStreamOptions<S>) {
    this.path = new RegExp(`^/instances/([^/]+)/${options.segment}$`);
  }

  /** Returns false when the request is not for this stream (the caller answers it). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://agent');
    const m = this.path.exec(url.pathname);
    if (!m) return false;
    const { upgrade } = this.options;
    if (req.method !== 'GET' || String(req.headers.upgrade ?? '').toLowerCase() !== upgrade) {
      refuse(socket, 400, 'Bad Request', { error: `Expected GET with Upgrade: ${upgrade}`, code: 'bad_request' });
      return true;
    }
    let lxcName: string;
    try {
      lxcName = decodeURIComponent(m[1] as string);
    } catch {
      refuse(socket, 400, 'Bad Request', { error: 'Invalid container name', code: 'bad_request' });
      return true;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n\r\n`);
    const session = this.options.open(socket, lxcName, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    if (head.length > 0) session.channel.receive(head);
    return true;
  }

  get active(): number {
    return this.sessions.size;
  }

  /** Ends every session and closes its connection (agent shutdown). */
  close(): void {
    for (const s of [...this.sessions]) s.channel.destroy();
    this.sessions.clear();
  }
}
