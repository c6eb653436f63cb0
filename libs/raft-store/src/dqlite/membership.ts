// Raft membership through the leader: add (joins as spare), assign a role, remove, transfer leadership, list.
// dqlite accepts one membership change at a time (SQLITE_BUSY otherwise), so each call retries on busy/not-leader.
import type { DqliteClient } from './client.js';
import { DqliteError } from './errors.js';
import type { NodeClient } from './node-client.js';
import type { NodeRole } from './protocol-codes.js';
import type { NodeInfo, NodeMetadata } from './responses.js';
import { isRetryable, sleep, withRetry } from './retry.js';

/** Promotion waits for the node to catch up, so it may take much longer than a query. */
const CHANGE_TIMEOUT_MS = 30_000;

export interface TransferOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
}

export class ClusterMembership {
  constructor(private readonly client: DqliteClient) {}

  /** Every member with its role, as the leader knows them. */
  members(): Promise<NodeInfo[]> {
    return this.onLeader((c) => c.cluster());
  }

  /** Adds a node; it joins as a spare (no replication) until assigned another role. */
  add(id: number | bigint, address: string): Promise<void> {
    return this.onLeader((c) => c.add(id, address, CHANGE_TIMEOUT_MS));
  }

  /** Sets a member's role (voter 0, stand-by 1, spare 2). Promotion waits until the node has caught up. */
  assign(id: number | bigint, role: NodeRole): Promise<void> {
    return this.onLeader((c) => c.assign(id, role, CHANGE_TIMEOUT_MS));
  }

  remove(id: number | bigint): Promise<void> {
    return this.onLeader((c) => c.remove(id, CHANGE_TIMEOUT_MS));
  }

  /**
   * Hands leadership to `id` (0: raft picks) and waits until the cluster names the new leader. A transfer to a voter
   * promoted moments ago often fails or does not stick (measured), so it is retried every 300 ms until the timeout.
   */
  async transfer(id: number | bigint, options: TransferOptions = {}): Promise<NodeInfo> {
    const target = BigInt(id);
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let lastError: unknown = null;
    while (Date.now() < deadline) {
      const before = await this.client.leader();
      if (before && target !== 0n && before.id === target) return before;
      try {
        await this.client.withSession((s) => s.client.transfer(target, CHANGE_TIMEOUT_MS));
      } catch (err) {
        // "leadership transfer failed" comes as a generic error (code 1): worth another try, as are busy/not-leader.
        if (!(err instanceof DqliteError) && !isRetryable(err, false)) throw err;
        lastError = err;
      }
      this.client.resetConnections();
      for (let i = 0; i < 10 && Date.now() < deadline; i++) {
        const now = await this.client.leader();
        if (now && (target === 0n ? now.id !== before?.id : now.id === target)) return now;
        await sleep(100);
      }
      await sleep(300);
    }
    throw new DqliteError(1, `leadership transfer to ${target} did not complete${lastError ? `: ${(lastError as Error).message}` : ''}`);
  }

  /** Failure domain and weight of the node at `address` (answered by that node itself). */
  describe(address: string): Promise<NodeMetadata> {
    return this.client.onNode(address, (c) => c.describe());
  }

  /** Sets the weight of the node at `address` (used by role-balancing: lower weight is preferred for roles). */
  setWeight(address: string, weight: number | bigint): Promise<void> {
    return this.client.onNode(address, (c) => c.weight(weight));
  }

  private onLeader<T>(fn: (c: NodeClient) => Promise<T>): Promise<T> {
    return withRetry(
      () => this.client.withSession((s) => fn(s.client)),
      (err) => isRetryable(err, false),
      { timeoutMs: CHANGE_TIMEOUT_MS, baseDelayMs: 20, maxDelayMs: 500 },
    );
  }
}
