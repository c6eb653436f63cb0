import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AgentInstanceSpec } from '@lxdts/api-types';
import { AgentClient, AgentRequestError } from './agent.client.js';

interface Seen {
  method: string;
  url: string;
  body: unknown;
}

describe('AgentClient', () => {
  let dir = '';
  let sock = '';
  let server: Server;
  const seen: Seen[] = [];
  let client: AgentClient;

  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    return text ? (JSON.parse(text) as unknown) : undefined;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-agent-client-'));
    sock = join(dir, 'agent.socket');
    server = createServer((req, res) => {
      void read(req).then((body) => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
        const reply = (status: number, value: unknown) => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(value));
        };
        if (req.url === '/instances/p_c1/stop') return reply(409, { error: 'The instance is already stopped', code: 'conflict' });
        if (req.url === '/instances/boom/state') return reply(500, { error: 'broken', code: 'internal' });
        if (req.url === '/instances/slow/state') return setTimeout(() => reply(200, {}), 500);
        if (req.url === '/garbage') return res.end('not json');
        if (req.url?.endsWith('/start')) return reply(200, { pid: 7, volatile: { 'volatile.eth0.hwaddr': '00:16:3e:00:00:01' } });
        if (req.url === '/instances') return reply(200, [{ lxcName: 'c1', status: 'Running', status_code: 103, pid: 7 }]);
        reply(200, {});
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    client = new AgentClient(sock);
  });

  after(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('methods map to the agent endpoints with their bodies', async () => {
    const spec = { lxcName: 'p_c1', name: 'c1', project: 'p' } as AgentInstanceSpec;
    assert.deepEqual(await client.start(spec), { pid: 7, volatile: { 'volatile.eth0.hwaddr': '00:16:3e:00:00:01' } });
    assert.equal((await client.listInstances())[0]?.pid, 7);
    await client.freeze('a b');
    await client.unfreeze('c1');
    await client.rename('c1', 'c2');
    await client.delete('c2');
    await client.execSimple('c1', { command: ['true'], env: {}, cwd: '', uid: 0, gid: 0 });
    await client.unpackImage({ poolSource: '/p', fingerprint: 'f', imageFile: '/i' });
    await client.createVolume({ volume: { poolSource: '/p', type: 'containers', name: 'c1' } });
    await client.renameVolume({ volume: { poolSource: '/p', type: 'containers', name: 'c1' }, newName: 'c2' });
    await client.deleteVolume({ volume: { poolSource: '/p', driver: 'btrfs', type: 'containers', name: 'c2' } });
    await client.deleteImage({ poolSource: '/p', fingerprint: 'f' });
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      [
        'POST /instances/p_c1/start',
        'GET /instances',
        'POST /instances/a%20b/freeze',
        'POST /instances/c1/unfreeze',
        'POST /instances/c1/rename',
        'POST /instances/c2/delete',
        'POST /instances/c1/exec-simple',
        'POST /storage/dir/image/unpack',
        'POST /storage/dir/volume/create',
        'POST /storage/dir/volume/rename',
        'POST /storage/btrfs/volume/delete',
        'POST /storage/dir/image/delete',
      ],
    );
    assert.deepEqual(seen[0]?.body, { spec });
    assert.deepEqual(seen[4]?.body, { newLxcName: 'c2' });
  });

  test('agent errors become AgentRequestError with status and code', async () => {
    await assert.rejects(client.stop('p_c1', { force: false, timeoutSec: 30 }), (e: unknown) => {
      assert.ok(e instanceof AgentRequestError);
      assert.equal(e.status, 409);
      assert.equal(e.code, 'conflict');
      assert.equal(e.message, 'The instance is already stopped');
      return true;
    });
    await assert.rejects(client.state('boom'), { status: 500, code: 'internal', message: 'broken' });
    await assert.rejects(client.state('slow', { timeoutMs: 50 }), { status: 504, code: 'timeout' });
    await assert.rejects((client as unknown as { call(m: string, p: string): Promise<unknown> }).call('GET', '/garbage'), { status: 502 });
  });

  test('no agent: 503 unavailable', async () => {
    const nobody = new AgentClient(join(dir, 'missing.socket'));
    await assert.rejects(nobody.ready(), { status: 503, code: 'unavailable' });
    nobody.close();
  });
});
