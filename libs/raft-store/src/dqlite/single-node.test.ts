// SQL against one real sidecar node: value types, multi-batch results, errors, transactions, busy retries, timeouts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DqliteClient } from './client.js';
import { ConnectionError, DqliteError, isBusy, TimeoutError } from './errors.js';
import { NodeClient } from './node-client.js';
import * as req from './requests.js';
import { decodeRows } from './responses.js';
import { TestNodes } from './loopback-nodes.js';

describe('dqlite single node', () => {
  let nodes: TestNodes;
  let client: DqliteClient;

  before(async () => {
    nodes = await TestNodes.start(1);
    client = new DqliteClient({ addresses: nodes.addresses(), database: 'single.db' });
    await client.exec(
      'CREATE TABLE vals (i INTEGER, f REAL, s TEXT, b BLOB, n TEXT, flag BOOLEAN, big INTEGER, d DATETIME)',
    );
    await client.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  });

  after(async () => {
    await client?.close();
    await nodes?.cleanup();
  });

  test('every parameter type round-trips', async () => {
    const blob = Buffer.from([0, 1, 2, 255, 254]);
    const res = await client.exec('INSERT INTO vals VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      -42,
      3.25,
      'héllo wörld',
      blob,
      null,
      true,
      2n ** 62n,
      new Date('2026-12-03T10:00:00Z'),
    ]);
    assert.equal(res.rowsAffected, 1);
    const { columns, rows } = await client.query('SELECT * FROM vals');
    assert.deepEqual(columns, ['i', 'f', 's', 'b', 'n', 'flag', 'big', 'd']);
    assert.deepEqual(rows, [[-42, 3.25, 'héllo wörld', blob, null, true, 2n ** 62n, '2026-12-03T10:00:00.000Z']]);
    const typed = await client.query('SELECT typeof(i), typeof(f), typeof(b), typeof(flag), ? + 1, ? FROM vals', [1.5, false]);
    assert.deepEqual(typed.rows, [['integer', 'real', 'blob', 'integer', 2.5, 0]]);
  });

  test('a few thousand rows come back across several ROWS batches', async () => {
    await client.exec('CREATE TABLE many (id INTEGER PRIMARY KEY, label TEXT)');
    const ins = await client.exec(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) INSERT INTO many SELECT x, printf('row-%05d', x) FROM c",
    );
    assert.equal(ins.rowsAffected, 3000);
    const all = await client.query('SELECT id, label FROM many ORDER BY id');
    assert.equal(all.rows.length, 3000);
    assert.deepEqual(all.rows[0], [1, 'row-00001']);
    assert.deepEqual(all.rows[2999], [3000, 'row-03000']);
    // Count the batches on a raw connection.
    const raw = await NodeClient.open(nodes.node(1).address);
    try {
      const db = await raw.open('single.db');
      let batches = 0;
      const total = await raw.connection.request(req.encodeQuerySql(db, 'SELECT * FROM many', []), 5000, (f) => {
        batches++;
        const b = decodeRows(f);
        return b.done ? batches : undefined;
      });
      assert.ok(total > 1, `expected several batches, got ${total}`);
    } finally {
      raw.close();
    }
  });

  test('errors carry the SQLite code and message', async () => {
    await assert.rejects(client.exec('SELEC 1'), (e: unknown) => e instanceof DqliteError && e.code === 1 && /syntax error/.test(e.message));
    await client.exec("INSERT INTO kv VALUES ('a', 1)");
    await assert.rejects(
      client.exec("INSERT INTO kv VALUES ('a', 2)"),
      (e: unknown) => e instanceof DqliteError && e.primaryCode === 19 && /UNIQUE constraint failed: kv.k/.test(e.message),
    );
    await assert.rejects(client.exec('INSERT INTO kv VALUES (?, NULL)', ['b']), /NOT NULL constraint failed/);
  });

  test('a transaction rolls back when its function throws or a statement fails', async () => {
    await assert.rejects(
      client.transaction(async (tx) => {
        await tx.exec("INSERT INTO kv VALUES ('t1', 1)");
        throw new Error('boom');
      }),
      /boom/,
    );
    await assert.rejects(
      client.transaction(async (tx) => {
        await tx.exec("INSERT INTO kv VALUES ('t2', 1)");
        await tx.exec("INSERT INTO kv VALUES ('a', 1)");
      }),
      /UNIQUE/,
    );
    const n = await client.transaction(async (tx) => {
      await tx.exec("INSERT INTO kv VALUES ('t3', 3)");
      return (await tx.query("SELECT count(*) FROM kv WHERE k LIKE 't%'")).rows[0]![0];
    });
    assert.equal(n, 1);
    assert.deepEqual((await client.query("SELECT k FROM kv WHERE k LIKE 't%'")).rows, [['t3']]);
  });

  test('a failed multi-statement script does not leave its transaction open', async () => {
    await assert.rejects(client.exec("BEGIN; INSERT INTO kv VALUES ('s1', 1); INSERT INTO nope VALUES (1)"), /no such table/);
    // A second client (other connection) would be blocked if the write transaction were still open.
    const other = new DqliteClient({ addresses: nodes.addresses(), database: 'single.db', retry: { timeoutMs: 200 } });
    try {
      await other.exec("INSERT INTO kv VALUES ('s2', 2)");
    } finally {
      await other.close();
    }
    assert.deepEqual((await client.query("SELECT k FROM kv WHERE k LIKE 's%'")).rows, [['s2']]);
  });

  test('writes with RETURNING work outside a transaction (the client wraps them)', async () => {
    const r = await client.query("INSERT INTO kv VALUES ('r1', 7) RETURNING k, v");
    assert.deepEqual(r, { columns: ['k', 'v'], rows: [['r1', 7]] });
    // dqlite 1.11 aborts on the next write if the RETURNING write had bypassed the transaction.
    await client.exec("UPDATE kv SET v = 8 WHERE k = 'r1'");
    assert.deepEqual((await client.query("SELECT v FROM kv WHERE k = 'r1'")).rows, [[8]]);
    // A "query" that returns no columns runs as a statement.
    assert.deepEqual(await client.query("WITH x AS (SELECT 1) DELETE FROM kv WHERE k = 'r1'"), { columns: [], rows: [] });
  });

  test('a competing writer gets SQLITE_BUSY, retried until the lock is released', async () => {
    const tx = await client.begin();
    await tx.exec("INSERT INTO kv VALUES ('b1', 1)");
    const impatient = new DqliteClient({ addresses: nodes.addresses(), database: 'single.db', retry: { timeoutMs: 150 } });
    try {
      await assert.rejects(impatient.exec("INSERT INTO kv VALUES ('b2', 1)"), (e: unknown) => isBusy(e));
    } finally {
      await impatient.close();
    }
    // The default policy keeps retrying; the lock is released 50 ms later.
    const waiting = client.exec("INSERT INTO kv VALUES ('b3', 1)");
    setTimeout(() => void tx.commit(), 50);
    assert.equal((await waiting).rowsAffected, 1);
    assert.deepEqual((await client.query("SELECT k FROM kv WHERE k LIKE 'b%' ORDER BY k")).rows, [['b1'], ['b3']]);
  });

  test('a request without an answer times out and destroys its connection', async () => {
    const raw = await NodeClient.open(nodes.node(1).address);
    // Type 99 is unknown to the server: it never answers (nor does it for HEARTBEAT).
    const bogus = Buffer.alloc(16);
    bogus.writeUInt32LE(1, 0);
    bogus.writeUInt8(99, 4);
    await assert.rejects(raw.connection.request(bogus, 200, () => true), TimeoutError);
    assert.equal(raw.closed, true);
    await assert.rejects(raw.leader(), ConnectionError);
  });
});
