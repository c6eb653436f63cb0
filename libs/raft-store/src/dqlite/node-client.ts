// Typed requests to ONE node over one connection. No leader logic and no retries: that is the cluster client's job.
import { DqliteConnection, type ConnectionOptions } from './connection.js';
import * as req from './requests.js';
import * as res from './responses.js';
import type { DumpFile, ExecResult, NodeInfo, NodeMetadata } from './responses.js';
import type { DqliteParam, DqliteValue } from './values.js';

export interface QueryResult {
  columns: string[];
  rows: DqliteValue[][];
}

export interface NodeClientOptions extends ConnectionOptions {
  /** Timeout of each request (default 10 s; stalls of ~1 s happen on busy hosts, so keep it well above that). */
  requestTimeoutMs?: number;
}

export class NodeClient {
  private constructor(
    readonly connection: DqliteConnection,
    private readonly timeoutMs: number,
  ) {}

  static async open(address: string, options: NodeClientOptions = {}): Promise<NodeClient> {
    const conn = await DqliteConnection.open(address, options);
    return new NodeClient(conn, options.requestTimeoutMs ?? 10_000);
  }

  get address(): string {
    return this.connection.address;
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  close(): void {
    this.connection.close();
  }

  private one<T>(message: Buffer, decode: (f: res.Frame) => T, timeoutMs = this.timeoutMs): Promise<T> {
    // Wrap so a decoder returning undefined (void responses) still ends the request.
    return this.connection.request(message, timeoutMs, (f) => ({ v: decode(f) })).then((x) => x.v);
  }

  /** The leader as this node knows it (id 0n and "" when unknown; only voters know). */
  leader(timeoutMs?: number): Promise<NodeInfo> {
    return this.one(req.encodeLeader(), res.decodeServer, timeoutMs);
  }

  /** Registers as a client (WELCOME); the 1.11 server does not require it, but it is the documented order. */
  register(clientId = 0): Promise<number> {
    return this.one(req.encodeClient(clientId), res.decodeWelcome);
  }

  /** Opens a database on this connection (one per connection); returns the db id. */
  open(name: string): Promise<number> {
    return this.one(req.encodeOpen(name), res.decodeDb);
  }

  /** Runs every statement in `sql`; parameters bind to the first one only. The result is the last statement's. */
  execSql(dbId: number, sql: string, params: readonly DqliteParam[] = [], timeoutMs?: number): Promise<ExecResult> {
    return this.one(req.encodeExecSql(dbId, sql, params), res.decodeResult, timeoutMs);
  }

  /** Runs the first statement in `sql` and collects every row batch. */
  querySql(dbId: number, sql: string, params: readonly DqliteParam[] = [], timeoutMs?: number): Promise<QueryResult> {
    return this.rows(req.encodeQuerySql(dbId, sql, params), timeoutMs);
  }

  prepare(dbId: number, sql: string): Promise<{ stmtId: number; paramCount: number }> {
    return this.one(req.encodePrepare(dbId, sql), res.decodeStmt);
  }

  exec(dbId: number, stmtId: number, params: readonly DqliteParam[] = []): Promise<ExecResult> {
    return this.one(req.encodeExec(dbId, stmtId, params), res.decodeResult);
  }

  query(dbId: number, stmtId: number, params: readonly DqliteParam[] = []): Promise<QueryResult> {
    return this.rows(req.encodeQuery(dbId, stmtId, params));
  }

  finalize(dbId: number, stmtId: number): Promise<void> {
    return this.one(req.encodeFinalize(dbId, stmtId), res.decodeEmpty);
  }

  add(id: number | bigint, address: string, timeoutMs?: number): Promise<void> {
    return this.one(req.encodeAdd(id, address), res.decodeEmpty, timeoutMs);
  }

  assign(id: number | bigint, role: number, timeoutMs?: number): Promise<void> {
    return this.one(req.encodeAssign(id, role), res.decodeEmpty, timeoutMs);
  }

  remove(id: number | bigint, timeoutMs?: number): Promise<void> {
    return this.one(req.encodeRemove(id), res.decodeEmpty, timeoutMs);
  }

  transfer(id: number | bigint, timeoutMs?: number): Promise<void> {
    return this.one(req.encodeTransfer(id), res.decodeEmpty, timeoutMs);
  }

  cluster(): Promise<NodeInfo[]> {
    return this.one(req.encodeCluster(1), (f) => res.decodeServers(f, 1));
  }

  describe(): Promise<NodeMetadata> {
    return this.one(req.encodeDescribe(), res.decodeMetadata);
  }

  weight(weight: number | bigint): Promise<void> {
    return this.one(req.encodeWeight(weight), res.decodeEmpty);
  }

  /** This node's local copy of a database (works on followers). */
  dump(name: string): Promise<DumpFile[]> {
    return this.one(req.encodeDump(name), res.decodeFiles);
  }

  private rows(message: Buffer, timeoutMs = this.timeoutMs): Promise<QueryResult> {
    let result: QueryResult | null = null;
    return this.connection.request(message, timeoutMs, (f) => {
      const batch = res.decodeRows(f);
      if (result) result.rows.push(...batch.rows);
      else result = { columns: batch.columns, rows: batch.rows };
      return batch.done ? result : undefined;
    });
  }
}
