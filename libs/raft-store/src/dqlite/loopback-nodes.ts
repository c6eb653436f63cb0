// Test support: real sidecar nodes on 127.0.0.1 with ports picked at runtime and a temporary data dir per node, all
// removed by cleanup(). Used by the dqlite tests only (not exported from the package).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSidecar, DqliteSidecar } from './sidecar.js';

let built: Promise<string> | null = null;

/** Builds the sidecar once per process (build.sh is a no-op when the binary is up to date). */
export function ensureSidecar(): Promise<string> {
  built ??= buildSidecar();
  return built;
}

/** A port that was free a moment ago (the kernel picks it; we close the listener right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface TestNode {
  id: number;
  address: string;
  dir: string;
  sidecar: DqliteSidecar | null;
}

export class TestNodes {
  readonly nodes = new Map<number, TestNode>();

  private constructor(private readonly baseDir: string) {}

  /** Starts nodes 1..count; node 1 bootstraps a one-voter cluster, the others wait to be added. */
  static async start(count: number, latencyMs = 20): Promise<TestNodes> {
    await ensureSidecar();
    const t = new TestNodes(mkdtempSync(join(tmpdir(), 'lxdts-dqlite-test-')));
    try {
      for (let id = 1; id <= count; id++) {
        const address = `127.0.0.1:${await freePort()}`;
        t.nodes.set(id, { id, address, dir: join(t.baseDir, `node${id}`), sidecar: null });
      }
      await Promise.all([...t.nodes.keys()].map((id) => t.startNode(id, latencyMs)));
    } catch (err) {
      await t.cleanup();
      throw err;
    }
    return t;
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no test node ${id}`);
    return n;
  }

  addresses(): string[] {
    return [...this.nodes.values()].map((n) => n.address);
  }

  async startNode(id: number, latencyMs = 20): Promise<void> {
    const n = this.node(id);
    n.sidecar = await DqliteSidecar.start({ id, address: n.address, dataDir: n.dir, latencyMs });
  }

  /** SIGKILL (a crash: no clean raft shutdown) and wait for the process to be gone. */
  async kill(id: number): Promise<void> {
    const s = this.node(id).sidecar;
    s?.kill('SIGKILL');
    await s?.exited;
  }

  async stopNode(id: number): Promise<void> {
    await this.node(id).sidecar?.stop(2000);
  }

  /** Stops every node (SIGTERM, SIGKILL after 2 s) and removes all data dirs. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.sidecar?.stop(2000)));
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}
