// The leader's round, every second: a heartbeat to every other member (carrying the raft member list, which each
// member keeps as the seeds of its next start), their heartbeat times into `nodes`, a member that misses two rounds
// marked as unreachable at once (so it shows OFFLINE in seconds, not after cluster.offline_threshold), and one
// database role change when the balance needs it (a dead voter replaced by a stand-by, ...). Non-leaders only
// check whether they have become the leader.
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ClusterHeartbeat as HeartbeatBody } from '@lxdts/api-types';
import { CLUSTER_RUNTIME } from '../daemon/tokens.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ClusterRepository } from './cluster.repository.js';
import { ClusterService, NO_HEARTBEAT } from './cluster.service.js';
import { memberRequest } from './member-client.js';

export const HEARTBEAT_INTERVAL_MS = 1_000;
/** Missed rounds after which the leader records a member as unreachable. */
const MISSES_OFFLINE = 2;

@Injectable()
export class ClusterHeartbeat implements OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly misses = new Map<number, number>();
  private lastKnown = '';

  constructor(
    @Inject(CLUSTER_RUNTIME) private readonly runtime: ClusterRuntime,
    private readonly repo: ClusterRepository,
    private readonly cluster: ClusterService,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  /** One round (exported for tests); overlapping rounds are skipped. */
  async tick(): Promise<void> {
    const db = this.runtime.database;
    if (!db || this.running) return;
    this.running = true;
    try {
      if (!(await db.isLeader())) {
        this.misses.clear();
        return;
      }
      const [members, raftNodes] = await Promise.all([this.repo.members(), this.cluster.raftNodes()]);
      const self = this.runtime.member.nodeId;
      // The leader keeps the member list as its own next start's seeds too (the others get it with the heartbeat).
      const known = JSON.stringify(raftNodes);
      if (known !== this.lastKnown) {
        await this.runtime.rememberRaftNodes(raftNodes);
        this.lastKnown = known;
      }
      const tls = this.runtime.tls!;
      const body: HeartbeatBody = { raft_nodes: raftNodes };
      const now = new Date().toISOString();
      const results = await Promise.all(
        members
          .filter((m) => m.id !== self)
          .map(async (m) => {
            const ok = await memberRequest(m.address, 'POST', '/internal/cluster/heartbeat', body, { pinned: tls.cert, cert: tls.cert, key: tls.key }, 900).then(
              () => true,
              () => false,
            );
            return { m, ok };
          }),
      );
      const beats = new Map<number, string>([[self, now]]);
      const offline = new Set<number>();
      for (const { m, ok } of results) {
        if (ok) {
          this.misses.delete(m.id);
          beats.set(m.id, now);
          continue;
        }
        const n = (this.misses.get(m.id) ?? 0) + 1;
        this.misses.set(m.id, n);
        if (n >= MISSES_OFFLINE) {
          offline.add(m.id);
          if (n === MISSES_OFFLINE && m.heartbeat !== NO_HEARTBEAT) {
            this.runtime.log('warn', `Cluster member ${m.name} (${m.address}) does not answer heartbeats`);
            beats.set(m.id, NO_HEARTBEAT);
          }
        }
      }
      await this.repo.transaction((tx) => this.repo.setHeartbeats(tx, beats));
      await this.cluster.rebalance([], offline);
    } catch (err) {
      this.runtime.log('warn', `Heartbeat round failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
