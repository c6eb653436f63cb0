// Free TCP ports on 127.0.0.1, picked from the project's test range (18600-18899) unless told otherwise.
import { connect, createServer } from 'node:net';

const taken = new Set<number>();

function tryListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port nobody listens on right now (random start inside [min, max], then linear probing). */
export async function freePort(min = 18600, max = 18899, host = '127.0.0.1'): Promise<number> {
  const span = max - min + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = min + ((start + i) % span);
    if (taken.has(port)) continue;
    if (await tryListen(port, host)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port in ${min}-${max} on ${host}`);
}

/** Resolves true when something accepts TCP connections on host:port. */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
