// Response messages (server → client), §3.7. Each decoder checks the type and turns FAILURE into a DqliteError.
// Extra trailing bytes are ignored on purpose: newer servers may append fields (§3.9).
import { DqliteError, ProtocolError } from './errors.js';
import { ResponseType } from './protocol-codes.js';
import { readRowsBatch, type RowsBatch } from './values.js';
import { WireReader } from './wire-codec.js';

/** One framed message as read from the socket. */
export interface Frame {
  type: number;
  schema: number;
  body: Buffer;
}

export interface NodeInfo {
  id: bigint;
  address: string;
  /** Wire role (0 voter, 1 stand-by, 2 spare); absent in CLUSTER format 0. */
  role?: number;
}

export interface ExecResult {
  lastInsertId: number | bigint;
  rowsAffected: number;
}

export interface NodeMetadata {
  failureDomain: bigint;
  weight: bigint;
}

export interface DumpFile {
  name: string;
  data: Buffer;
}

const TYPE_NAMES = Object.fromEntries(Object.entries(ResponseType).map(([k, v]) => [v, k])) as Record<number, string>;

/** Throws the server's error for FAILURE, or a ProtocolError for any other unexpected type. */
export function reader(frame: Frame, expected: number): WireReader {
  const r = new WireReader(frame.body);
  if (frame.type === ResponseType.Failure) {
    const code = Number(r.u64());
    throw DqliteError.fromFailure(code, r.remaining > 0 ? r.text() : '');
  }
  if (frame.type !== expected) {
    throw new ProtocolError(
      `expected ${TYPE_NAMES[expected] ?? expected} response, got ${TYPE_NAMES[frame.type] ?? frame.type}`,
    );
  }
  return r;
}

/** LEADER's answer: the leader as this node knows it; id 0 and "" when it does not know one. */
export function decodeServer(frame: Frame): NodeInfo {
  const r = reader(frame, ResponseType.Server);
  const id = r.u64();
  return { id, address: r.text() };
}

/** WELCOME carries the heartbeat timeout in ms (not enforced by 1.11 servers). */
export function decodeWelcome(frame: Frame): number {
  return reader(frame, ResponseType.Welcome).u64Number();
}

export function decodeServers(frame: Frame, format: 0 | 1): NodeInfo[] {
  const r = reader(frame, ResponseType.Servers);
  const n = r.u64Number();
  const out: NodeInfo[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u64();
    const address = r.text();
    out.push(format === 1 ? { id, address, role: r.u64Number() } : { id, address });
  }
  return out;
}

export function decodeDb(frame: Frame): number {
  return reader(frame, ResponseType.Db).u32();
}

export function decodeStmt(frame: Frame): { dbId: number; stmtId: number; paramCount: number } {
  const r = reader(frame, ResponseType.Stmt);
  return { dbId: r.u32(), stmtId: r.u32(), paramCount: r.u64Number() };
}

export function decodeResult(frame: Frame): ExecResult {
  const r = reader(frame, ResponseType.Result);
  const id = r.i64();
  const lastInsertId = id >= BigInt(Number.MIN_SAFE_INTEGER) && id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id;
  return { lastInsertId, rowsAffected: r.u64Number() };
}

export function decodeRows(frame: Frame): RowsBatch {
  return readRowsBatch(reader(frame, ResponseType.Rows));
}

export function decodeEmpty(frame: Frame): void {
  reader(frame, ResponseType.Empty);
}

export function decodeMetadata(frame: Frame): NodeMetadata {
  const r = reader(frame, ResponseType.Metadata);
  return { failureDomain: r.u64(), weight: r.u64() };
}

/** DUMP: the node's local copy of a database, main file then WAL. */
export function decodeFiles(frame: Frame): DumpFile[] {
  const r = reader(frame, ResponseType.Files);
  const n = r.u64Number();
  const out: DumpFile[] = [];
  for (let i = 0; i < n; i++) {
    const name = r.text();
    const size = r.u64Number();
    const start = r.offset;
    r.skip(size);
    out.push({ name, data: Buffer.from(frame.body.subarray(start, start + size)) });
  }
  return out;
}

/** Decodes a message header; the caller has checked that at least 8 bytes are available. */
export function readHeader(buf: Buffer, at: number): { bodyBytes: number; type: number; schema: number } {
  return { bodyBytes: buf.readUInt32LE(at) * 8, type: buf.readUInt8(at + 4), schema: buf.readUInt8(at + 5) };
}
