// Test helper: the agent's exec or console stream server on a real agent HTTP server on a temporary socket, and the
// logger the stream tests use (LXDTS_TEST_DEBUG=1 on stderr, LXDTS_TEST_DEBUG_FILE=<file> appended to a file).
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentLogger, createLogger, silentLogger } from '../log.js';
import { listenAgentHttp } from '../server/http-server.js';
import type { StreamSession, UpgradeStreamServer } from '../server/upgrade-stream.server.js';

export function streamTestLogger(): AgentLogger {
  const debugFile = process.env['LXDTS_TEST_DEBUG_FILE'];
  if (debugFile) return createLogger('debug', (l) => appendFileSync(debugFile, l));
  return process.env['LXDTS_TEST_DEBUG'] ? createLogger('debug') : silentLogger;
}

export interface StreamTestServer {
  /** The agent socket serving the stream. */
  sock: string;
  /** Ends every session, stops the server and removes its directory. */
  close(): Promise<void>;
}

export async function serveStreamForTest<S extends StreamSession>(streams: UpgradeStreamServer<S>, prefix: string): Promise<StreamTestServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const sock = join(dir, 'agent.socket');
  const http = await listenAgentHttp(sock, [], silentLogger, (req, socket, head) => streams.handleUpgrade(req, socket, head));
  return {
    sock,
    close: async () => {
      streams.close();
      await http.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a process exists (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
