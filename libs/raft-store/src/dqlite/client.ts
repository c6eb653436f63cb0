// The cluster client: SQL and transactions against whichever node leads, with leader discovery, a small connection
// pool and retries on "not leader" / SQLITE_BUSY. Membership calls live in membership.ts.
import type { Dialer } from './connection.js';
import { ConnectionError, isBusy, LeadershipLostError, NoLeaderError, NotLeaderError, TimeoutError } from './errors.js';
import { findLeader } from './leader-discovery.js';
import { NodeClient, type QueryResult } from './node-client.js';
import { NodeRole } from './protocol-codes.js';
import type { ExecResult, NodeInfo } from './responses.js';
import { defaultRetryPolicy, isRetryable, type RetryPolicy, withRetry } from './retry.js';
import { type Session, SessionPool } from './session-pool.js';
import { isReadOnlyQuery } from './statement-kind.js';
import { afterError, DqliteTransaction, failedAtCommit } from './transaction.js';
import type { DqliteParam } from './values.js';

export interface DqliteClientOptions {
  /** Seed addresses ("host:port"); refreshed from the leader's member list on each new leader connection. */
  addresses: readonly string[];
  /** Database name opened on every connection. */
  database: string;
  connectTimeoutMs?: number;
  /** Per request; default 10 s. */
  requestTimeoutMs?: number;
  /** How long to look for a leader before failing with NoLeaderError; default 10 s. */
  leaderTimeoutMs?: number;
  /** Retries on not-leader / busy; default 10 s in total, 5 ms doubling to 250 ms with jitter. */
  retry?: Partial<RetryPolicy>;
  /** Connections to the leader kept open at most (default 4); further callers wait. */
  maxConnections?: number;
  /** Custom transport (e.g. TLS to the peer). */
  dial?: Dialer;
  /** Called with the member list each time a new leader connection fetched it (persist it as the seed list). */
  onMembers?: (members: NodeInfo[]) => void;
}

export interface BeginOptions {
  /**
   * BEGIN IMMEDIATE (the default) takes the write lock at once, so a competing writer is told SQLITE_BUSY at BEGIN,
   * where retrying is always safe, instead of at its first write. `deferred` uses a plain BEGIN (for reads: a write
   * in it may then fail with SQLITE_BUSY, which TransactionOptions.retry handles).
   */
  deferred?: boolean;
}

export interface TransactionOptions extends BeginOptions {
  /**
   * Run `fn` again (in a new transaction) when it failed before COMMIT because of a not-leader, busy, timeout or
   * lost-connection error, as LXD does. `fn` must then be safe to repeat. Default true.
   */
  retry?: boolean;
}

/** Errors before COMMIT leave nothing applied: the transaction died with its connection or was rolled back. */
export function transactionRetryable(err: unknown): boolean {
  if (failedAtCommit(err)) return isRetryable(err, false);
  return (
    err instanceof NotLeaderError ||
    err instanceof LeadershipLostError ||
    isBusy(err) ||
    err instanceof ConnectionError ||
    err instanceof TimeoutError
  );
}

export class DqliteClient {
  private readonly pool: SessionPool;
  private readonly policy: RetryPolicy;
  private addresses: string[];
  private refreshedGeneration = -1;

  constructor(private readonly options: DqliteClientOptions) {
    if (options.addresses.length === 0) throw new Error('dqlite client needs at least one node address');
    this.addresses = [...options.addresses];
    this.policy = { ...defaultRetryPolicy, ...options.retry };
    this.pool = new SessionPool((generation) => this.openSession(generation), options.maxConnections ?? 4);
  }

  /** The addresses currently used to look for the leader (voters first). */
  knownAddresses(): string[] {
    return [...this.addresses];
  }

  /**
   * Runs SQL without result rows (all statements of the text; parameters bind to the first). Autocommit. It is sent
   * again on not-leader/busy, so a script of several statements should be one transaction (BEGIN…COMMIT in the text,
   * or transaction()): otherwise the statements before the failing one would run twice.
   */
  exec(sql: string, params: readonly DqliteParam[] = []): Promise<ExecResult> {
    return withRetry(
      () =>
        this.withSession(async (s) => {
          try {
            return await s.client.execSql(s.dbId, sql, params);
          } catch (err) {
            // A failed script may have left its own BEGIN open on this connection: close it before reuse.
            if (afterError(err) === 'keep') await s.client.execSql(s.dbId, 'ROLLBACK').catch(() => undefined);
            throw err;
          }
        }),
      (err) => isRetryable(err, false),
      this.policy,
    );
  }

  /** Rows of the first statement. Statements that may write (RETURNING, WITH, PRAGMA) run in a transaction. */
  query(sql: string, params: readonly DqliteParam[] = []): Promise<QueryResult> {
    if (!isReadOnlyQuery(sql)) return this.transaction((tx) => tx.query(sql, params), { deferred: true });
    return withRetry(
      () => this.withSession((s) => s.client.querySql(s.dbId, sql, params)),
      (err) => isRetryable(err, true),
      this.policy,
    );
  }

  /** Runs `fn` in BEGIN…COMMIT on one leader connection; any error rolls back. See TransactionOptions.retry. */
  transaction<T>(fn: (tx: DqliteTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const once = async (): Promise<T> => {
      const tx = await this.begin(options);
      let result: T;
      try {
        result = await fn(tx);
      } catch (err) {
        await tx.rollback();
        throw err;
      }
      await tx.commit();
      return result;
    };
    if (options.retry === false) return once();
    return withRetry(once, transactionRetryable, this.policy);
  }

  /**
   * Starts a transaction the caller ends with commit() or rollback() (for drivers that manage it themselves).
   * BEGIN is retried on busy/not-leader: nothing has happened yet.
   */
  begin(options: BeginOptions = {}): Promise<DqliteTransaction> {
    const sql = options.deferred ? 'BEGIN' : 'BEGIN IMMEDIATE';
    const once = async (): Promise<DqliteTransaction> => {
      const s = await this.acquire();
      try {
        await s.client.execSql(s.dbId, sql);
      } catch (err) {
        this.settle(s, afterError(err));
        throw err;
      }
      return new DqliteTransaction(s, (session, outcome) => this.settle(session, outcome));
    };
    return withRetry(once, (err) => isRetryable(err, false), this.policy);
  }

  /** Runs `fn` on a pooled leader session; errors decide whether the session is reused. */
  async withSession<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    const s = await this.acquire();
    try {
      const result = await fn(s);
      this.settle(s, 'keep');
      return result;
    } catch (err) {
      this.settle(s, afterError(err));
      throw err;
    }
  }

  /** Opens a one-off connection to a given node (DESCRIBE/WEIGHT/DUMP answer for the node they are sent to). */
  async onNode<T>(address: string, fn: (c: NodeClient) => Promise<T>): Promise<T> {
    const c = await NodeClient.open(address, this.nodeOptions());
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  /** The current leader (found afresh), or null when none is reachable before the leader timeout. */
  async leader(): Promise<NodeInfo | null> {
    try {
      const found = await findLeader(this.addresses, { ...this.nodeOptions(), timeoutMs: this.options.leaderTimeoutMs });
      found.client.close();
      return found.leader;
    } catch (err) {
      if (err instanceof NoLeaderError) return null;
      throw err;
    }
  }

  /** Drops pooled connections (e.g. after a leadership transfer) so the next request looks for the leader again. */
  resetConnections(): void {
    this.pool.invalidate();
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  private acquire(): Promise<Session> {
    return this.pool.acquire();
  }

  private settle(s: Session, outcome: 'keep' | 'close' | 'invalidate'): void {
    if (outcome === 'invalidate') this.pool.invalidate();
    this.pool.release(s, outcome === 'keep');
  }

  private nodeOptions() {
    return {
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      dial: this.options.dial,
    };
  }

  private async openSession(generation: number): Promise<Omit<Session, 'generation'>> {
    const { client } = await findLeader(this.addresses, {
      ...this.nodeOptions(),
      timeoutMs: this.options.leaderTimeoutMs,
    });
    try {
      await client.register();
      if (this.refreshedGeneration !== generation) {
        this.refreshedGeneration = generation;
        this.updateMembers(await client.cluster());
      }
      return { client, dbId: await client.open(this.options.database) };
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /** Voters first (only they know the leader), then stand-bys and spares, then seeds no longer listed. */
  private updateMembers(members: NodeInfo[]): void {
    const rank = (r: number | undefined) => (r === NodeRole.Voter ? 0 : r === NodeRole.StandBy ? 1 : 2);
    const ordered = [...members].sort((a, b) => rank(a.role) - rank(b.role)).map((m) => m.address);
    this.addresses = [...new Set([...ordered, ...this.options.addresses])];
    this.options.onMembers?.(members);
  }
}
