// Medium test: a real daemon in-process on a temp LXD_DIR, driven over its unix socket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { daemonPaths } from './paths.js';
import { type RunningDaemon, startDaemon } from './daemon.js';

let dir: string;
let daemon: RunningDaemon;
let socket: string;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { host: 'unix.socket', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const ENVELOPE_KEYS = ['type', 'status', 'status_code', 'operation', 'error_code', 'error', 'metadata'].sort();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lxdts-daemon-'));
  const paths = daemonPaths(dir);
  socket = paths.socket;
  daemon = await startDaemon({ ...paths, socket: join(dir, 'unix.socket') }, { group: '', logfile: join(dir, 'lxd.log'), debug: false, verbose: false });
});

after(async () => {
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('socket is 0660 and GET /1.0 is a trusted sync envelope with an ETag', async () => {
  assert.equal(statSync(socket).mode & 0o777, 0o660);
  const r = await call('GET', '/1.0');
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
  const meta = r.body['metadata'] as Record<string, unknown>;
  assert.equal(meta['auth'], 'trusted');
  assert.ok((meta['api_extensions'] as string[]).includes('api_filtering'));
  assert.match(String(r.headers['etag']), /^"[0-9a-f]{64}"$/);
});

test('unknown path 404, unknown verb 501, bad JSON 400, wrong ETag 412, huge body 413 — all error envelopes', async () => {
  const cases: [Reply, number][] = [
    [await call('GET', '/1.0/bogus'), 404],
    [await call('DELETE', '/1.0'), 501],
    [await call('PUT', '/1.0', '{bad'), 400],
    [await call('PUT', '/1.0', '{"config":{"core.https_address":1}}'), 400],
    [await call('PUT', '/1.0', '{"config":{"no.such.key":"1"}}'), 400],
    [await call('PUT', '/1.0', '{"config":{}}', { 'if-match': '"deadbeef"' }), 412],
    [await call('PUT', '/1.0', 'x'.repeat(10 * 1024 * 1024)), 413],
  ];
  for (const [r, code] of cases) {
    assert.equal(r.status, code, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
    assert.equal(r.body['type'], 'error');
    assert.equal(r.body['error_code'], code);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  }
  const cfg = await call('GET', '/1.0');
  assert.deepEqual((cfg.body['metadata'] as Record<string, unknown>)['config'], {});
});

test('every operation state change is pushed on /1.0/events', async () => {
  const ws = new WebSocket(`ws+unix://${socket}:/1.0/events?type=operation`);
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise((r) => ws.once('open', r));
  const created = await call('POST', '/1.0/certificates', JSON.stringify({ name: 'tok', type: 'client', token: true }));
  assert.equal(created.status, 202);
  assert.equal(created.body['type'], 'async');
  const id = (created.body['metadata'] as Record<string, unknown>)['id'] as string;
  assert.equal(created.headers['location'], `/1.0/operations/${id}`);
  const cancelled = await call('DELETE', `/1.0/operations/${id}`);
  assert.equal(cancelled.status, 200);
  const waited = await call('GET', `/1.0/operations/${id}/wait?timeout=5`);
  assert.equal((waited.body['metadata'] as Record<string, unknown>)['status'], 'Cancelled');
  await new Promise((r) => setTimeout(r, 50));
  ws.close();
  const statuses = frames
    .filter((f) => f['type'] === 'operation' && (f['metadata'] as Record<string, unknown>)['id'] === id)
    .map((f) => (f['metadata'] as Record<string, unknown>)['status']);
  assert.deepEqual(statuses.slice(-2), ['Cancelling', 'Cancelled']);
  assert.ok(statuses.includes('Running'));
});
