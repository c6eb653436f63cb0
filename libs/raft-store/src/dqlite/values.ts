// SQL values on the wire: parameter tuples (client → server) and row batches (server → client), §3.4–3.5.
import { ProtocolError } from './errors.js';
import { ROWS_DONE_BYTE, ROWS_PART_BYTE, ValueType } from './protocol-codes.js';
import type { WireReader, WireWriter } from './wire-codec.js';

/**
 * A bind parameter. Numbers that are safe integers go as INTEGER, others as FLOAT (so 1.0 is bound as the integer 1,
 * as with better-sqlite3; REAL column affinity turns it back into 1.0). Dates go as ISO-8601 text.
 */
export type DqliteParam = null | number | bigint | string | boolean | Uint8Array | Date;

/**
 * A value in a result row, as stored: INTEGER → number (bigint beyond 2^53), FLOAT → number, TEXT → string,
 * BLOB → Buffer, NULL → null. Columns declared BOOLEAN come back as boolean, DATETIME/DATE/TIMESTAMP as the stored
 * integer (seconds) or text.
 */
export type DqliteValue = null | number | bigint | string | boolean | Buffer;

export interface RowsBatch {
  columns: string[];
  rows: DqliteValue[][];
  /** False when another ROWS message follows for the same query. */
  done: boolean;
}

/** The server keeps the count in one byte in protocol schema 0. */
export const MAX_PARAMS = 255;

function paramType(v: DqliteParam): number {
  if (v === null) return ValueType.Null;
  switch (typeof v) {
    case 'number':
      return Number.isSafeInteger(v) ? ValueType.Integer : ValueType.Float;
    case 'bigint':
      return ValueType.Integer;
    case 'string':
      return ValueType.Text;
    case 'boolean':
      return ValueType.Boolean;
    default:
      if (v instanceof Date) return ValueType.Iso8601;
      if (v instanceof Uint8Array) return ValueType.Blob;
      throw new ProtocolError(`unsupported parameter type ${Object.prototype.toString.call(v)}`);
  }
}

/** Writes a parameter tuple; writes nothing at all for no parameters (the server then binds nothing). */
export function writeParams(w: WireWriter, params: readonly DqliteParam[]): void {
  if (params.length === 0) return;
  if (params.length > MAX_PARAMS) throw new ProtocolError(`too many parameters: ${params.length} > ${MAX_PARAMS}`);
  const types = params.map(paramType);
  w.u8(params.length);
  for (const t of types) w.u8(t);
  w.pad();
  params.forEach((v, i) => {
    switch (types[i]) {
      case ValueType.Null:
        w.u64(0);
        break;
      case ValueType.Integer:
        w.i64(v as number | bigint);
        break;
      case ValueType.Float:
        w.f64(v as number);
        break;
      case ValueType.Text:
        w.text(v as string);
        break;
      case ValueType.Boolean:
        w.u64(v ? 1 : 0);
        break;
      case ValueType.Iso8601:
        w.text((v as Date).toISOString());
        break;
      case ValueType.Blob:
        w.blob(v as Uint8Array);
        break;
    }
  });
}

function int64ToJs(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(r: WireReader, type: number): DqliteValue {
  switch (type) {
    case ValueType.Integer:
    case ValueType.UnixTime:
      return int64ToJs(r.i64());
    case ValueType.Float:
      return r.f64();
    case ValueType.Text:
    case ValueType.Iso8601:
      return r.text();
    case ValueType.Blob:
      return r.blob();
    case ValueType.Null:
      r.skip(8);
      return null;
    case ValueType.Boolean:
      return r.u64() !== 0n;
    default:
      throw new ProtocolError(`unknown value type ${type} in row`);
  }
}

/** Decodes one ROWS message body. Every batch repeats the column names. */
export function readRowsBatch(r: WireReader): RowsBatch {
  const n = r.u64Number();
  const columns: string[] = [];
  for (let i = 0; i < n; i++) columns.push(r.text());
  const rows: DqliteValue[][] = [];
  const headerBytes = Math.ceil(Math.ceil(n / 2) / 8) * 8;
  for (;;) {
    if (r.remaining < 8) throw new ProtocolError('rows batch without an end marker');
    // Type codes are < 16, so a row header's first byte is never 0xee/0xff: one byte tells a row from a marker.
    const first = r.peekU8();
    if (first === ROWS_DONE_BYTE || first === ROWS_PART_BYTE) {
      r.skip(8);
      return { columns, rows, done: first === ROWS_DONE_BYTE };
    }
    const types: number[] = [];
    for (let i = 0; i < headerBytes; i++) {
      const b = r.u8();
      types.push(b & 0x0f, b >> 4);
    }
    const row: DqliteValue[] = [];
    for (let i = 0; i < n; i++) row.push(readValue(r, types[i]!));
    rows.push(row);
  }
}
