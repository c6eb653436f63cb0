// The local dqlite node's way out: its outgoing raft connections go to this unix socket, one line naming the peer
// ("host:port\n"), and the daemon carries each through the peer's HTTPS (database-tunnel.ts). The node itself never
// opens a network connection, so raft traffic is always authenticated and encrypted with the cluster certificate.
import { type Server, type Socket, createServer } from 'node:net';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { splice } from './database-tunnel.js';

export type Dialer = (address: string) => Promise<Duplex>;

export class DialProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly dial: Dialer,
    private readonly onError: (msg: string) => void = () => undefined,
  ) {}

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    rmSync(this.path, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let line = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      line = Buffer.concat([line, chunk]);
      const nl = line.indexOf(0x0a);
      if (nl < 0) {
        if (line.length > 512) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const address = line.subarray(0, nl).toString('utf8').trim();
      const rest = line.subarray(nl + 1);
      this.dial(address).then(
        (peer) => {
          if (socket.destroyed) {
            peer.destroy();
            return;
          }
          if (rest.length > 0) peer.write(rest);
          splice(socket, peer);
          socket.resume();
        },
        (err: Error) => {
          this.onError(`raft connection to ${address}: ${err.message}`);
          socket.destroy();
        },
      );
    };
    socket.on('data', onData);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
    rmSync(this.path, { force: true });
  }
}
