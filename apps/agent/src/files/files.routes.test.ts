// The agent's file endpoints over a real socket: streaming push and pull, ownership and modes on the host,
// directories, symlinks, append, delete, and the error codes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AGENT_FILE_INFO_HEADER, type AgentFileInfo } from '@lxdts/api-types';
import { silentLogger } from '../log.js';
import { type AgentHttpServer, listenAgentHttp } from '../server/http-server.js';
import { fileRoutes } from './files.routes.js';

const isRoot = process.getuid?.() === 0;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let dir = '';
let sock = '';
let rootfs = '';
let server: AgentHttpServer;

/** One request; `body` is sent in 64 KiB chunks (chunked encoding), as a streaming client would. */
function call(method: string, path: string, body?: Buffer | string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    if (data) for (let i = 0; i < data.length; i += 65536) req.write(data.subarray(i, i + 65536));
    req.end();
  });
}

const q = (o: Record<string, string | number>) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();
const filesUrl = (path: string, extra: Record<string, string | number> = {}) => `/instances/c1/files?${q({ rootfsPath: rootfs, path, ...extra })}`;
const json = (r: Reply) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
const infoOf = (r: Reply) => JSON.parse(String(r.headers[AGENT_FILE_INFO_HEADER])) as AgentFileInfo;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('agent file endpoints', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-agent-files-'));
    sock = join(dir, 'agent.socket');
    rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'root'), { recursive: true });
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside', 'sentinel'), 'outside\n');
    server = await listenAgentHttp(sock, fileRoutes(), silentLogger);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a 1 MiB random file goes in and comes back identical', async () => {
    const data = randomBytes(1024 * 1024);
    const put = await call('POST', filesUrl('/root/big', { type: 'file', write: 'overwrite', uid: -1, gid: -1, mode: -1 }), data);
    assert.equal(put.status, 200, put.body.toString());
    assert.deepEqual(json(put), { changed: true });
    assert.equal(sha(readFileSync(join(rootfs, 'root/big'))), sha(data));
    const got = await call('GET', filesUrl('/root/big'));
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.equal(got.headers['content-length'], String(data.length));
    assert.equal(sha(got.body), sha(data));
    const info = infoOf(got);
    assert.equal(info.type, 'file');
    assert.equal(info.size, data.length);
    assert.equal(info.mode, 0o644);
    assert.equal(info.mtime, Math.floor(statSync(join(rootfs, 'root/big')).mtimeMs / 1000));
  });

  test('uid, gid and mode are applied to a new file, as given (no shifting)', { skip: !isRoot && 'chown needs root' }, async () => {
    const put = await call('POST', filesUrl('root/owned', { type: 'file', uid: 1000, gid: 1001, mode: 0o600 }), 'secret\n');
    assert.equal(put.status, 200, put.body.toString());
    const st = statSync(join(rootfs, 'root/owned'));
    assert.equal(`${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`, '1000:1001 600');
    const info = infoOf(await call('GET', filesUrl('/root/owned')));
    assert.deepEqual([info.uid, info.gid, info.mode], [1000, 1001, 0o600]);
  });

  test('append adds to an existing file; an empty push makes an empty file', async () => {
    await call('POST', filesUrl('/root/log', { type: 'file' }), 'one\n');
    const r = await call('POST', filesUrl('/root/log', { type: 'file', write: 'append' }), 'two\n');
    assert.equal(r.status, 200);
    assert.equal(readFileSync(join(rootfs, 'root/log'), 'utf8'), 'one\ntwo\n');
    assert.equal((await call('POST', filesUrl('/root/empty', { type: 'file' }))).status, 200);
    const got = await call('GET', filesUrl('/root/empty'));
    assert.equal(got.status, 200);
    assert.equal(got.body.length, 0);
  });

  test('directories: created with their mode, listed as JSON', async () => {
    const r = await call('POST', filesUrl('/root/d', { type: 'directory', mode: 0o755 }));
    assert.deepEqual(json(r), { changed: true });
    assert.equal(statSync(join(rootfs, 'root/d')).mode & 0o7777, 0o755);
    assert.deepEqual(json(await call('POST', filesUrl('/root/d', { type: 'directory' }))), { changed: false });
    await call('POST', filesUrl('/root/d/x', { type: 'file' }), 'x');
    const got = await call('GET', filesUrl('/root/d'));
    assert.equal(got.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(got.body.toString()), ['x']);
    assert.equal(infoOf(got).type, 'directory');
  });

  test('symlinks: created from the body, read back as their target', async () => {
    const r = await call('POST', filesUrl('/root/link', { type: 'symlink' }), '../outside/sentinel');
    assert.deepEqual(json(r), { changed: true });
    assert.equal(readlinkSync(join(rootfs, 'root/link')), '../outside/sentinel');
    const got = await call('GET', filesUrl('/root/link'));
    assert.equal(got.body.toString(), '../outside/sentinel');
    assert.equal(infoOf(got).type, 'symlink');
    // Pushing a file through it follows it inside the container: /outside/sentinel of the rootfs.
    assert.equal((await call('POST', filesUrl('/root/link', { type: 'file' }), 'no')).status, 404);
    mkdirSync(join(rootfs, 'outside'));
    assert.equal((await call('POST', filesUrl('/root/link', { type: 'file' }), 'inside')).status, 200);
    assert.equal(readFileSync(join(rootfs, 'outside/sentinel'), 'utf8'), 'inside');
    assert.equal(readFileSync(join(dir, 'outside/sentinel'), 'utf8'), 'outside\n');
  });

  test('stat and delete', async () => {
    const st = await call('POST', '/instances/c1/files/stat', JSON.stringify({ rootfsPath: rootfs, path: '/root/log' }));
    assert.equal(st.status, 200);
    assert.equal(json(st)['type'], 'file');
    assert.equal(json(st)['size'], 8);
    const del = await call('POST', '/instances/c1/files/delete', JSON.stringify({ rootfsPath: rootfs, path: '/root/log' }));
    assert.deepEqual([del.status, json(del)], [200, {}]);
    assert.throws(() => lstatSync(join(rootfs, 'root/log')));
    const again = await call('POST', '/instances/c1/files/delete', JSON.stringify({ rootfsPath: rootfs, path: '/root/log' }));
    assert.equal(again.status, 404);
    assert.equal(json(again)['code'], 'not_found');
    const notEmpty = await call('POST', '/instances/c1/files/delete', JSON.stringify({ rootfsPath: rootfs, path: '/root/d' }));
    assert.equal(notEmpty.status, 500);
    assert.equal(json(notEmpty)['error'], 'remove /root/d: directory not empty');
  });

  test('errors: missing path 404, bad parameters 400, missing rootfs 500', async () => {
    const missing = await call('GET', filesUrl('/root/nope'));
    assert.deepEqual([missing.status, json(missing)], [404, { error: 'open /root/nope: no such file or directory', code: 'not_found' }]);
    const cases: [string, string][] = [
      [`/instances/c1/files?${q({ rootfsPath: 'relative', path: '/x' })}`, 'Invalid rootfsPath "relative"'],
      [`/instances/c1/files?${q({ rootfsPath: '/', path: '/x' })}`, 'Invalid rootfsPath "/"'],
      [`/instances/c1/files?${q({ rootfsPath: `${rootfs}/../x`, path: '/x' })}`, `Invalid rootfsPath "${rootfs}/../x"`],
      [`/instances/c1/files?${q({ rootfsPath: rootfs })}`, '"path" must be a string'],
    ];
    for (const [url, error] of cases) {
      const r = await call('GET', url);
      assert.deepEqual([r.status, json(r)['error']], [400, error], url);
    }
    for (const [extra, error] of [
      [{ type: 'fifo' }, 'Invalid type "fifo"'],
      [{ type: 'file', write: 'prepend' }, 'Invalid write mode "prepend"'],
      [{ type: 'file', uid: 'root' }, 'Invalid uid "root"'],
      [{ type: 'file', mode: 0o1777 }, 'Invalid mode "1023"'],
    ] as const) {
      const r = await call('POST', filesUrl('/root/x', extra), 'x');
      assert.deepEqual([r.status, json(r)['error']], [400, error]);
    }
    const noRoot = await call('GET', `/instances/c1/files?${q({ rootfsPath: join(dir, 'nope'), path: '/' })}`);
    assert.equal(noRoot.status, 500);
    assert.match(String(json(noRoot)['error']), /Failed to open the root file system/);
  });

  test('a push refused up front answers at once, without waiting for a large body', async () => {
    const t0 = performance.now();
    const r = await call('POST', filesUrl('/no/such/dir/f', { type: 'file' }), randomBytes(8 * 1024 * 1024));
    assert.equal(r.status, 404);
    assert.ok(performance.now() - t0 < 5_000);
    // The server is still fine afterwards.
    assert.equal((await call('GET', filesUrl('/'))).status, 200);
  });
});
