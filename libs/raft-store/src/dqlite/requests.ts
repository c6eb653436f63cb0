// Request messages (client → server), §3.6: an 8-byte header (body length in words, type, schema 0) + the body.
// Always schema 0, which every 1.x server understands (newer servers add schema 1 variants, §3.9).
import { PROTOCOL_VERSION, RequestType } from './protocol-codes.js';
import { type DqliteParam, writeParams } from './values.js';
import { WireWriter } from './wire-codec.js';

export const HEADER_BYTES = 8;

function frame(type: RequestType, body: WireWriter): Buffer {
  // Bodies are never empty on the wire: a request without fields still carries one (unused) word.
  if (body.length === 0) body.u64(0);
  body.pad();
  const out = Buffer.alloc(HEADER_BYTES + body.length);
  out.writeUInt32LE(body.length / 8, 0);
  out.writeUInt8(type, 4);
  body.bytes().copy(out, HEADER_BYTES);
  return out;
}

/** The 8-byte handshake sent once, right after connecting. */
export function handshake(): Buffer {
  return new WireWriter().u64(PROTOCOL_VERSION).bytes();
}

export const encodeLeader = (): Buffer => frame(RequestType.Leader, new WireWriter().u64(0));
export const encodeClient = (clientId: number | bigint): Buffer => frame(RequestType.Client, new WireWriter().u64(clientId));
/** Flags and VFS are ignored by the server; sent for layout compatibility. */
export const encodeOpen = (name: string): Buffer =>
  frame(RequestType.Open, new WireWriter().text(name).u64(0).text(''));
export const encodePrepare = (dbId: number, sql: string): Buffer =>
  frame(RequestType.Prepare, new WireWriter().u64(dbId).text(sql));

export function encodeExec(dbId: number, stmtId: number, params: readonly DqliteParam[]): Buffer {
  const w = new WireWriter().u32(dbId).u32(stmtId);
  writeParams(w, params);
  return frame(RequestType.Exec, w);
}

export function encodeQuery(dbId: number, stmtId: number, params: readonly DqliteParam[]): Buffer {
  const w = new WireWriter().u32(dbId).u32(stmtId);
  writeParams(w, params);
  return frame(RequestType.Query, w);
}

export const encodeFinalize = (dbId: number, stmtId: number): Buffer =>
  frame(RequestType.Finalize, new WireWriter().u32(dbId).u32(stmtId));

export function encodeExecSql(dbId: number, sql: string, params: readonly DqliteParam[]): Buffer {
  const w = new WireWriter().u64(dbId).text(sql);
  writeParams(w, params);
  return frame(RequestType.ExecSql, w);
}

export function encodeQuerySql(dbId: number, sql: string, params: readonly DqliteParam[]): Buffer {
  const w = new WireWriter().u64(dbId).text(sql);
  writeParams(w, params);
  return frame(RequestType.QuerySql, w);
}

export const encodeInterrupt = (dbId: number): Buffer => frame(RequestType.Interrupt, new WireWriter().u64(dbId));
export const encodeAdd = (id: number | bigint, address: string): Buffer =>
  frame(RequestType.Add, new WireWriter().u64(id).text(address));
export const encodeAssign = (id: number | bigint, role: number): Buffer =>
  frame(RequestType.Assign, new WireWriter().u64(id).u64(role));
export const encodeRemove = (id: number | bigint): Buffer => frame(RequestType.Remove, new WireWriter().u64(id));
export const encodeDump = (name: string): Buffer => frame(RequestType.Dump, new WireWriter().text(name));
/** Format 1 includes each node's role. */
export const encodeCluster = (format: 0 | 1 = 1): Buffer => frame(RequestType.Cluster, new WireWriter().u64(format));
/** Target 0 lets raft pick the new leader. */
export const encodeTransfer = (id: number | bigint): Buffer => frame(RequestType.Transfer, new WireWriter().u64(id));
export const encodeDescribe = (): Buffer => frame(RequestType.Describe, new WireWriter().u64(0));
export const encodeWeight = (weight: number | bigint): Buffer => frame(RequestType.Weight, new WireWriter().u64(weight));
