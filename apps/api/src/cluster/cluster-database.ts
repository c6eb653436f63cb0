// This member's part of the replicated database: its dqlite node (the C sidecar, listening on an abstract unix
// socket only), the dial proxy its raft connections leave through, and the store (a dqlite client reaching the
// leader wherever it is). Every connection to another member goes through that member's HTTPS (database-tunnel).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ClusterMembership, type DqliteNodeInfo, DqliteSidecar, DqliteStore } from '@lxdts/raft-store';
import type { Socket } from 'node:net';
import { type ClusterTls, connectLocal, dialMemberDatabase } from './database-tunnel.js';
import { DialProxy } from './dial-proxy.js';

export interface ClusterDatabaseOptions {
  varDir: string;
  /** Raft node id (the member's id in `nodes`). */
  nodeId: number;
  /** The member's cluster address (host:port): what peers dial. */
  address: string;
  /** Addresses of known members to find the leader through (this one included or not). */
  seeds: readonly string[];
  tls: () => ClusterTls;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Called with the raft member list whenever the client learns it (persist as next start's seeds). */
  onMembers?: (members: DqliteNodeInfo[]) => void;
  /** One-way latency for dqlite's timers (heartbeat 1.5x, election 15x). Default 20 ms. */
  latencyMs?: number;
}

/** The database files of the member's dqlite node, as LXD's `database/global`. */
export const clusterDataDir = (varDir: string): string => join(varDir, 'database', 'global');

/** The abstract unix socket the member's dqlite node listens on (nothing on the network). */
export const nodeBindAddress = (varDir: string): string => `@lxdts-dqlite-${createHash('sha256').update(varDir).digest('hex').slice(0, 16)}`;

/**
 * The door to the node for this daemon (0600 pathname socket relayed by the sidecar to its abstract one: dqlite
 * there only serves its own process, and Node cannot dial abstract names anyway). Peers' tunnels end here too.
 */
export const nodeSocketPath = (varDir: string): string => join(varDir, 'database', 'dqlite.socket');

export class ClusterDatabase {
  private constructor(
    private readonly options: ClusterDatabaseOptions,
    readonly sidecar: DqliteSidecar,
    private readonly proxy: DialProxy,
    readonly store: DqliteStore,
    readonly membership: ClusterMembership,
  ) {}

  /** Starts the node (id 1 on an empty data dir bootstraps a new cluster) and opens the store through the leader. */
  static async start(options: ClusterDatabaseOptions): Promise<ClusterDatabase> {
    const bind = nodeBindAddress(options.varDir);
    const dial = async (address: string, timeoutMs: number): Promise<Socket> => {
      if (address === options.address) {
        return new Promise<Socket>((resolve, reject) => {
          const s = connectLocal(nodeSocketPath(options.varDir));
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
      }
      return (await dialMemberDatabase(address, options.tls(), timeoutMs)) as Socket;
    };
    const proxy = new DialProxy(join(options.varDir, 'database', 'dqlite-dial.socket'), (a) => dial(a, 5_000), (m) => options.log('warn', m));
    await proxy.listen();
    let sidecar: DqliteSidecar | undefined;
    try {
      sidecar = await DqliteSidecar.start({
        id: options.nodeId,
        address: options.address,
        bind,
        localSocket: nodeSocketPath(options.varDir),
        dataDir: clusterDataDir(options.varDir),
        latencyMs: options.latencyMs ?? 20,
        dialProxy: proxy.path,
        onLog: (line) => options.log('info', `dqlite: ${line}`),
      });
      const seeds = [...new Set([options.address, ...options.seeds])];
      const store = await DqliteStore.open({ addresses: seeds, dial, onMembers: options.onMembers });
      return new ClusterDatabase(options, sidecar, proxy, store, new ClusterMembership(store.client));
    } catch (err) {
      await sidecar?.stop();
      await proxy.close();
      throw err;
    }
  }

  get address(): string {
    return this.options.address;
  }

  get nodeId(): number {
    return this.options.nodeId;
  }

  /** The leader's address, or '' when there is none (no quorum). */
  async leaderAddress(): Promise<string> {
    return (await this.store.client.leader().catch(() => null))?.address ?? '';
  }

  async isLeader(): Promise<boolean> {
    return (await this.leaderAddress()) === this.options.address;
  }

  /**
   * Stops the node. With `handover`, a leader first passes leadership to another voter so writes don't wait for an
   * election (LXD does the same on a clean shutdown).
   */
  async stop(handover = true): Promise<void> {
    if (handover) {
      try {
        if (await this.isLeader()) {
          const others = (await this.membership.members()).filter((m) => m.role === 0 && m.address !== this.options.address);
          const next = others[0];
          if (next) await this.membership.transfer(next.id, { timeoutMs: 5_000 });
        }
      } catch (err) {
        this.options.log('warn', `Leadership handover failed: ${(err as Error).message}`);
      }
    }
    await this.store.close().catch(() => undefined);
    await this.sidecar.stop();
    await this.proxy.close();
  }
}
