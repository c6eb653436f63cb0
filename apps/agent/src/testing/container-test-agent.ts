// Test helper for real containers: the agent's HTTP server in-process on a temporary directory (socket, var dir),
// set up as under $LXD_DIR. With @lxdts/test-containers' startBusyboxContainer it gives a running container.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger } from '../log.js';
import { type RunningAgent, startAgentServer } from '../server/agent-server.js';

export interface ContainerTestAgent {
  /** The temporary directory holding everything (mode 0711). */
  dir: string;
  sock: string;
  varDir: string;
  /** liblxc's lxcpath under the var dir. */
  lxcpath: string;
  agent: RunningAgent;
  /** Stops the agent and removes the directory (remove containers first: they outlive the agent). */
  close(): Promise<void>;
}

export async function startContainerTestAgent(prefix: string): Promise<ContainerTestAgent> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // The container's root (a mapped uid) must be able to traverse to its rootfs, as under $LXD_DIR (0711).
  chmodSync(dir, 0o711);
  const sock = join(dir, 'agent.socket');
  const varDir = join(dir, 'var');
  const log = process.env['LXDTS_TEST_DEBUG'] ? createLogger('debug') : silentLogger;
  let agent: RunningAgent;
  try {
    agent = await startAgentServer({ socketPath: sock, varDir, log });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    sock,
    varDir,
    lxcpath: join(varDir, 'containers'),
    agent,
    close: async () => {
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
