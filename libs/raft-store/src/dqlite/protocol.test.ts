// Pure encode/decode checks of the wire format (no server): byte layouts from the protocol description (§3).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DqliteError, LeadershipLostError, NotLeaderError, ProtocolError } from './errors.js';
import { ResponseType, ValueType } from './protocol-codes.js';
import * as req from './requests.js';
import * as res from './responses.js';
import { readRowsBatch, writeParams } from './values.js';
import { WireReader, WireWriter } from './wire-codec.js';

function frame(type: number, body: WireWriter): res.Frame {
  return { type, schema: 0, body: Buffer.from(body.bytes()) };
}

test('text is NUL-terminated and padded to 8 bytes; blobs carry a length', () => {
  const w = new WireWriter().text('').text('abcdefg').text('abcdefgh').blob(Buffer.from([1, 2, 3]));
  assert.equal(w.length, 8 + 8 + 16 + 8 + 8);
  const r = new WireReader(w.bytes());
  assert.equal(r.text(), '');
  assert.equal(r.text(), 'abcdefg');
  assert.equal(r.text(), 'abcdefgh');
  assert.deepEqual([...r.blob()], [1, 2, 3]);
  assert.equal(r.remaining, 0);
  assert.throws(() => new WireWriter().text('a\0b'), ProtocolError);
  assert.throws(() => new WireReader(Buffer.alloc(4)).u64(), ProtocolError);
});

test('the writer grows past its initial size without corrupting earlier fields', () => {
  const w = new WireWriter();
  for (let i = 0; i < 100; i++) w.i64(BigInt(i) - 50n);
  const r = new WireReader(w.bytes());
  for (let i = 0; i < 100; i++) assert.equal(r.i64(), BigInt(i) - 50n);
});

test('request header: body length in words, type, schema 0', () => {
  const leader = req.encodeLeader();
  assert.deepEqual([...leader], [1, 0, 0, 0, 0, 0, 0, 0, ...new Array(8).fill(0)]);
  const open = req.encodeOpen('db');
  // "db\0" padded (8) + flags (8) + "" (8)
  assert.equal(open.readUInt32LE(0), 3);
  assert.equal(open[4], 3);
  assert.equal(open.toString('utf8', 8, 10), 'db');
  assert.deepEqual([...req.handshake()], [1, 0, 0, 0, 0, 0, 0, 0]);
  const assign = req.encodeAssign(7, 1);
  assert.equal(assign[4], 13);
  assert.equal(assign.readBigUInt64LE(8), 7n);
  assert.equal(assign.readBigUInt64LE(16), 1n);
});

test('no parameters: no tuple at all; with parameters: count, types, padding, values', () => {
  const bare = req.encodeExecSql(0, 'SELECT 1', []);
  assert.equal(bare.length, 8 + 8 + 16);
  const w = new WireWriter();
  writeParams(w, [1, 1.5, 'x', Buffer.from([9]), null, true, 2n ** 62n, new Date(0)]);
  const r = new WireReader(w.bytes());
  assert.equal(r.u8(), 8);
  const types = [1, 2, 3, 4, 5, 6, 7, 8].map(() => r.u8());
  assert.deepEqual(types, [
    ValueType.Integer,
    ValueType.Float,
    ValueType.Text,
    ValueType.Blob,
    ValueType.Null,
    ValueType.Boolean,
    ValueType.Integer,
    ValueType.Iso8601,
  ]);
  r.align(); // 9 header bytes → 16
  assert.equal(r.offset, 16);
  assert.equal(r.i64(), 1n);
  assert.equal(r.f64(), 1.5);
  assert.equal(r.text(), 'x');
  assert.deepEqual([...r.blob()], [9]);
  assert.equal(r.u64(), 0n);
  assert.equal(r.u64(), 1n);
  assert.equal(r.i64(), 2n ** 62n);
  assert.equal(r.text(), '1970-01-01T00:00:00.000Z');
  assert.equal(r.remaining, 0);
  assert.throws(() => writeParams(new WireWriter(), new Array(256).fill(1)), ProtocolError);
});

test('rows: 4-bit type headers, several rows, part and done markers', () => {
  const w = new WireWriter().u64(3).text('a').text('b').text('c');
  // row 1: integer, text, null → header bytes [0x31, 0x05]
  w.u8(ValueType.Integer | (ValueType.Text << 4)).u8(ValueType.Null).pad();
  w.i64(-5).text('hi').u64(0);
  // row 2: float, blob, boolean
  w.u8(ValueType.Float | (ValueType.Blob << 4)).u8(ValueType.Boolean).pad();
  w.f64(0.25).blob(Buffer.from('zz')).u64(1);
  w.u64(0xeeeeeeeeeeeeeeeen);
  const part = readRowsBatch(new WireReader(Buffer.from(w.bytes())));
  assert.deepEqual(part.columns, ['a', 'b', 'c']);
  assert.equal(part.done, false);
  assert.deepEqual(part.rows, [
    [-5, 'hi', null],
    [0.25, Buffer.from('zz'), true],
  ]);
  const last = new WireWriter().u64(1).text('n');
  last.u8(ValueType.Integer).pad().i64(2n ** 60n).u64(0xffffffffffffffffn);
  const done = res.decodeRows(frame(ResponseType.Rows, last));
  assert.equal(done.done, true);
  assert.deepEqual(done.rows, [[2n ** 60n]]);
  assert.throws(() => readRowsBatch(new WireReader(Buffer.from(new WireWriter().u64(0).bytes()))), ProtocolError);
});

test('responses decode, FAILURE becomes a typed error, unexpected types are protocol errors', () => {
  assert.deepEqual(res.decodeServer(frame(ResponseType.Server, new WireWriter().u64(3).text('h:1'))), {
    id: 3n,
    address: 'h:1',
  });
  const servers = new WireWriter().u64(2).u64(1).text('a:1').u64(0).u64(2).text('b:2').u64(2);
  assert.deepEqual(res.decodeServers(frame(ResponseType.Servers, servers), 1), [
    { id: 1n, address: 'a:1', role: 0 },
    { id: 2n, address: 'b:2', role: 2 },
  ]);
  assert.deepEqual(res.decodeResult(frame(ResponseType.Result, new WireWriter().i64(42).u64(1))), {
    lastInsertId: 42,
    rowsAffected: 1,
  });
  assert.deepEqual(res.decodeStmt(frame(ResponseType.Stmt, new WireWriter().u32(0).u32(7).u64(2))), {
    dbId: 0,
    stmtId: 7,
    paramCount: 2,
  });
  assert.deepEqual(res.decodeMetadata(frame(ResponseType.Metadata, new WireWriter().u64(4).u64(9))), {
    failureDomain: 4n,
    weight: 9n,
  });
  const files = new WireWriter().u64(1).text('x.db').u64(8).u64(0x4142434445464748n);
  assert.deepEqual(res.decodeFiles(frame(ResponseType.Files, files)), [{ name: 'x.db', data: Buffer.from('HGFEDCBA') }]);

  const fail = (code: number, msg: string) => frame(ResponseType.Failure, new WireWriter().u64(code).text(msg));
  assert.throws(() => res.decodeEmpty(fail(10250, 'not leader')), NotLeaderError);
  assert.throws(() => res.decodeEmpty(fail(10506, 'lost')), LeadershipLostError);
  assert.throws(
    () => res.decodeResult(fail(2067, 'UNIQUE constraint failed: t.a')),
    (e: unknown) => e instanceof DqliteError && e.code === 2067 && e.primaryCode === 19 && /UNIQUE/.test(e.message),
  );
  assert.throws(() => res.decodeDb(frame(ResponseType.Empty, new WireWriter().u64(0))), ProtocolError);
  // Extra trailing bytes (newer servers) are ignored.
  assert.equal(res.decodeDb(frame(ResponseType.Db, new WireWriter().u32(5).u32(0).u64(99))), 5);
});
