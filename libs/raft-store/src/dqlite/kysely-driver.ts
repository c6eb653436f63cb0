// kysely Driver over the dqlite client. Outside a transaction each query goes to the pool (with retries on
// not-leader/busy); between beginTransaction and commit/rollback the connection is pinned to one DqliteTransaction.
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SelectQueryNode,
  type TransactionSettings,
} from 'kysely';
import type { DqliteClient } from './client.js';
import type { QueryResult as DqliteRows } from './node-client.js';
import type { ExecResult } from './responses.js';
import { returnsRows } from './statement-kind.js';
import type { DqliteTransaction } from './transaction.js';
import type { DqliteParam, DqliteValue } from './values.js';

/** kysely's parameters are unknown[]; dqlite binds a fixed set of types. undefined becomes NULL. */
function toParam(v: unknown): DqliteParam {
  if (v === undefined || v === null) return null;
  if (
    typeof v === 'number' ||
    typeof v === 'bigint' ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    v instanceof Uint8Array ||
    v instanceof Date
  ) {
    return v;
  }
  throw new TypeError(`cannot bind a ${typeof v} parameter to dqlite (${Object.prototype.toString.call(v)})`);
}

/** Same shapes as better-sqlite3 gives (booleans as 0/1), so repositories behave alike on both backends. */
function toRowObjects(result: DqliteRows): Record<string, unknown>[] {
  return result.rows.map((row) => {
    const o: Record<string, unknown> = {};
    result.columns.forEach((c, i) => {
      const v: DqliteValue | undefined = row[i];
      o[c] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    });
    return o;
  });
}

function execResult(r: ExecResult): QueryResult<never> {
  return { numAffectedRows: BigInt(r.rowsAffected), insertId: BigInt(r.lastInsertId), rows: [] };
}

/** Whether a compiled query produces rows: from the query tree when kysely built it, from the text for raw SQL. */
function producesRows(q: CompiledQuery): boolean {
  const node = q.query as { kind: string; returning?: unknown };
  if (SelectQueryNode.is(q.query)) return true;
  if (node.kind === 'InsertQueryNode' || node.kind === 'UpdateQueryNode' || node.kind === 'DeleteQueryNode') {
    return node.returning !== undefined;
  }
  return returnsRows(q.sql);
}

export class DqliteKyselyConnection implements DatabaseConnection {
  private tx: DqliteTransaction | null = null;

  constructor(private readonly client: DqliteClient) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const params = q.parameters.map(toParam);
    const rows = producesRows(q);
    if (this.tx) {
      if (rows) return { rows: toRowObjects(await this.tx.query(q.sql, params)) as R[] };
      return execResult(await this.tx.exec(q.sql, params));
    }
    // client.query runs statements that may write inside a transaction (required by dqlite 1.11, see statement-kind).
    if (rows) return { rows: toRowObjects(await this.client.query(q.sql, params)) as R[] };
    return execResult(await this.client.exec(q.sql, params));
  }

  // eslint-disable-next-line require-yield -- streaming is not needed by the store
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the dqlite driver does not support streaming');
  }

  async begin(settings: TransactionSettings): Promise<void> {
    if (this.tx) throw new Error('a transaction is already open on this connection');
    this.tx = await this.client.begin({ deferred: settings.accessMode === 'read only' });
  }

  /** A failed commit has already rolled back (or dropped) its transaction. */
  async commit(): Promise<void> {
    await this.takeTx().commit();
  }

  /** A no-op when the transaction already ended: kysely also rolls back after a failed commit. */
  async rollback(): Promise<void> {
    if (this.tx) await this.takeTx().rollback();
  }

  /** A connection handed back with its transaction still open (should not happen) must not leak it. */
  async release(): Promise<void> {
    if (this.tx) await this.takeTx().rollback();
  }

  private takeTx(): DqliteTransaction {
    const tx = this.tx;
    if (!tx) throw new Error('no transaction is open on this connection');
    this.tx = null;
    return tx;
  }
}

export class DqliteDriver implements Driver {
  constructor(private readonly client: DqliteClient) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    // Cheap: real connections come from the client's pool per query or per transaction.
    return new DqliteKyselyConnection(this.client);
  }

  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (c as DqliteKyselyConnection).begin(settings);
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await (c as DqliteKyselyConnection).commit();
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await (c as DqliteKyselyConnection).rollback();
  }

  async savepoint(c: DatabaseConnection, name: string): Promise<void> {
    await c.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(c: DatabaseConnection, name: string): Promise<void> {
    await c.executeQuery(CompiledQuery.raw(`rollback to ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(c: DatabaseConnection, name: string): Promise<void> {
    await c.executeQuery(CompiledQuery.raw(`release ${quoteIdentifier(name)}`));
  }

  async releaseConnection(c: DatabaseConnection): Promise<void> {
    await (c as DqliteKyselyConnection).release();
  }

  async destroy(): Promise<void> {
    await this.client.close();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
