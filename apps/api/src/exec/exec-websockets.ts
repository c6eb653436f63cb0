// The websockets of one exec operation, as LXD 5.0.2 serves them (lxd/instance_exec.go execWs):
//   - fds `0`, `1`, `2` and `control` (non-interactive) or `0` and `control` (interactive), each with a secret;
//   - the command starts once the required ones (all but control) are connected, within 5 s;
//   - data frames are binary; end of a stream is a zero-length text frame, both ways (any text frame on the
//     stdin socket ends the input, as LXD's WebsocketRecvStream);
//   - control messages (text JSON) resize the pty or send a signal; closing the control socket while the command
//     runs kills it (also closing stdout when there is no control socket);
//   - each socket gets a "keepalive" ping on connect and every 10 s;
//   - when the command ends: control is closed first, the output barriers have been sent, then the others close.
//     Closing is a plain TCP close without a websocket close frame (gorilla's Conn.Close, which LXD calls), done
//     as a half-close so nothing still in flight is lost.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AgentExecControl } from '@lxdts/api-types';
import type { RawData } from 'ws';
import type { AgentExecConnection, OutputStream } from './agent-exec.connection.js';
import { parseExecControl } from './exec-request.js';
import { OperationWebsocketSet, toBuffer } from './operation-websocket-set.js';
import type { OperationWebsocketHandler } from './operation-websocket.hub.js';

export type ExecFd = '0' | '1' | '2' | 'control';

export class ExecWebsockets implements OperationWebsocketHandler {
  private readonly sockets: OperationWebsocketSet<ExecFd>;
  private readonly waiters: (() => void)[] = [];
  /** Input and control messages that arrive before the command runs. */
  private readonly stdinQueue: (Buffer | null)[] = [];
  private readonly controlQueue: AgentExecControl[] = [];
  private conn: AgentExecConnection | undefined;
  private stdinEnded = false;
  private finished = false;

  constructor(
    readonly interactive: boolean,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    this.sockets = new OperationWebsocketSet<ExecFd>({
      fds: interactive ? ['0', 'control'] : ['0', '1', '2', 'control'],
      keepalive: true,
      accepting: () => !this.finished,
      connected: (fd, ws) => {
        if (fd === '0') ws.on('message', (data: RawData, isBinary: boolean) => this.stdin(isBinary ? toBuffer(data) : null));
        if (fd === 'control') ws.on('message', (data: RawData) => this.controlMessage(toBuffer(data).toString('utf8')));
        for (const w of this.waiters.splice(0)) w();
      },
      closedByClient: (fd) => this.closedByClient(fd),
    });
  }

  /** `metadata.fds` of the operation. */
  fds(): Record<string, string> {
    return this.sockets.fds();
  }

  owns(s: string): boolean {
    return this.sockets.owns(s);
  }

  upgrade(s: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.sockets.upgrade(s, req, socket, head);
  }

  private required(): ExecFd[] {
    return this.interactive ? ['0'] : ['0', '1', '2'];
  }

  /** Resolves once every required socket is connected; rejects as LXD after `timeoutMs`. */
  waitForRequired(timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Timed out waiting for websockets to connect')), timeoutMs);
      const check = () => {
        if (this.required().every((fd) => this.sockets.has(fd))) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /**
   * Relays between the sockets and the running command until it exits; resolves with its exit code after
   * the output barriers were sent and the control socket was closed.
   */
  async run(conn: AgentExecConnection): Promise<number> {
    this.conn = conn;
    this.sockets.setOutputFlow(conn.stream);
    for (const c of this.controlQueue.splice(0)) conn.control(c);
    for (const d of this.stdinQueue.splice(0)) this.toCommand(d);
    conn.attach({
      data: (stream, chunk) => {
        const fd = this.outputFd(stream);
        if (fd) this.sockets.send(fd, chunk);
        else this.log(`exec pty helper: ${chunk.toString('utf8').trim()}`);
      },
      end: (stream) => {
        const fd = this.outputFd(stream);
        if (fd) this.sockets.send(fd, null);
      },
    });
    try {
      return await conn.exited;
    } finally {
      this.finished = true;
      this.sockets.hangUp(['control']);
    }
  }

  /** Interactive output (the pty) goes to socket 0; stderr there is the pty helper's own, not the command's. */
  private outputFd(stream: OutputStream): ExecFd | null {
    if (this.interactive) return stream === 1 ? '0' : null;
    return stream === 1 ? '1' : '2';
  }

  private stdin(data: Buffer | null): void {
    if (this.stdinEnded) return;
    if (data === null) this.stdinEnded = true;
    if (this.conn) this.toCommand(data);
    else this.stdinQueue.push(data);
  }

  private toCommand(data: Buffer | null): void {
    const conn = this.conn as AgentExecConnection;
    if (data === null) {
      conn.endStdin();
      return;
    }
    if (!conn.writeStdin(data)) {
      const ws = this.sockets.websocket('0');
      ws?.pause();
      conn.stream.onDrain(() => ws?.resume());
    }
  }

  private controlMessage(text: string): void {
    const c = parseExecControl(text, this.interactive);
    if (!c) return;
    if (this.conn) this.conn.control(c);
    else this.controlQueue.push(c);
  }

  /** A client leaving while the command runs: its control socket, or stdout when it never had one. */
  private closedByClient(fd: ExecFd): void {
    if (this.finished || !this.conn) return;
    if (fd === 'control' || (fd === '1' && !this.sockets.has('control'))) {
      this.log(`exec: the client closed websocket ${fd}; killing the command`);
      this.conn.control({ type: 'signal', signal: 9 });
    }
  }

  /** Closes sockets from our side (TCP half-close, no close frame); the client's close completes it. */
  hangUp(fds?: ExecFd[]): void {
    this.sockets.hangUp(fds);
  }

  /** Daemon shutdown or a failed operation: everything goes, the command is killed with the agent connection. */
  close(): void {
    this.finished = true;
    for (const w of this.waiters.splice(0)) w();
    this.sockets.terminate();
    this.conn?.close();
  }
}
