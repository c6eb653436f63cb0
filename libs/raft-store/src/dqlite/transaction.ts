// An explicit transaction pinned to one leader connection: BEGIN, statements, COMMIT or ROLLBACK. A failed statement
// does not end the transaction by itself (SQLite keeps it open; so does a failed multi-statement EXEC_SQL), so the
// owner must roll back; a rollback that cannot be sent closes the connection instead, which discards the transaction
// on the server.
import { DqliteError, LeadershipLostError, NotLeaderError } from './errors.js';
import type { QueryResult } from './node-client.js';
import type { ExecResult } from './responses.js';
import type { Session } from './session-pool.js';
import { isNoColumnsFailure } from './statement-kind.js';
import type { DqliteParam } from './values.js';

/** Errors thrown by COMMIT: their transaction may have been applied, unlike errors before it. */
const commitErrors = new WeakSet<object>();

export function failedAtCommit(err: unknown): boolean {
  return typeof err === 'object' && err !== null && commitErrors.has(err);
}

/** What the pool should do with a session after an error on it. */
export function afterError(err: unknown): 'keep' | 'close' | 'invalidate' {
  if (err instanceof NotLeaderError || err instanceof LeadershipLostError) return 'invalidate';
  if (err instanceof DqliteError) return 'keep';
  return 'close';
}

export type TransactionState = 'open' | 'committed' | 'rolled-back';

export class DqliteTransaction {
  private state: TransactionState = 'open';
  /** Set when a statement failed in a way that leaves the connection unusable or on a former leader. */
  private poisoned: 'close' | 'invalidate' | null = null;

  constructor(
    private readonly session: Session,
    private readonly end: (session: Session, outcome: 'keep' | 'close' | 'invalidate') => void,
  ) {}

  get status(): TransactionState {
    return this.state;
  }

  async exec(sql: string, params: readonly DqliteParam[] = []): Promise<ExecResult> {
    this.assertOpen();
    return this.track(this.session.client.execSql(this.session.dbId, sql, params));
  }

  /** Rows of the first statement. Writes with RETURNING are safe here: COMMIT replicates them. */
  async query(sql: string, params: readonly DqliteParam[] = []): Promise<QueryResult> {
    this.assertOpen();
    try {
      return await this.track(this.session.client.querySql(this.session.dbId, sql, params));
    } catch (err) {
      // QUERY refuses statements without result columns before running them: run it as EXEC instead.
      if (!isNoColumnsFailure(err)) throw err;
      await this.exec(sql, params);
      return { columns: [], rows: [] };
    }
  }

  async commit(): Promise<void> {
    this.assertOpen();
    try {
      await this.track(this.session.client.execSql(this.session.dbId, 'COMMIT'));
    } catch (err) {
      if (typeof err === 'object' && err !== null) commitErrors.add(err);
      await this.rollback();
      throw err;
    }
    this.finish('committed');
  }

  /** Never throws: when ROLLBACK cannot be sent or fails, the connection is closed (the server then drops the tx). */
  async rollback(): Promise<void> {
    if (this.state !== 'open') return;
    if (!this.poisoned) {
      try {
        await this.session.client.execSql(this.session.dbId, 'ROLLBACK');
      } catch (err) {
        // "no transaction is active" (SQLite already rolled back, e.g. after some constraint errors) is fine.
        if (!(err instanceof DqliteError) || !/no transaction is active/.test(err.message)) {
          this.poisoned = afterError(err) === 'invalidate' ? 'invalidate' : 'close';
        }
      }
    }
    this.finish('rolled-back');
  }

  private finish(state: TransactionState): void {
    this.state = state;
    this.end(this.session, this.poisoned ?? 'keep');
  }

  private async track<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      const what = afterError(err);
      if (what !== 'keep') this.poisoned = what;
      throw err;
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`dqlite transaction already ${this.state}`);
  }
}
