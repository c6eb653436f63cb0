// Medium test: the files routes on the real router (fastify on a unix socket), a fake instance resolver pointing
// at a temporary rootfs, and the real host agent (apps/agent/dist/main.js) doing the work. Requests are shaped
// like the lxc 5.0.2 client's and pylxd's (wire-transcripts/09-file-push-pull.txt, 23-pylxd.txt).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AgentHandle, defaultAgentMain, startAgent } from '../agent/agent.process.js';
import { TRANSPORT, type TaggedRequest } from '../auth/authenticator.js';
import { notFound } from '../http/api-error.js';
import { registerRoutes } from '../http/router.js';
import type { InstanceTargetResolver } from '../instances/instance-target.js';
import { FilesRoutes } from './files.routes.js';
import { FilesService } from './files.service.js';

const isRoot = process.getuid?.() === 0;
const main = defaultAgentMain();

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let dir = '';
let rootfs = '';
let sock = '';
let agent: AgentHandle | undefined;
let app: FastifyInstance | undefined;
const events: { action: string; name: string; context: unknown }[] = [];

/** One request the way the lxc client sends it: a file body chunked, no content type. */
function call(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Reply> {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  const length: Record<string, string> = data && !headers['Transfer-Encoding'] && !headers['Content-Length'] ? { 'Content-Length': String(data.length) } : {};
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers: { host: 'unix.socket', connection: 'close', ...length, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (data) for (let i = 0; i < data.length; i += 32768) req.write(data.subarray(i, i + 32768));
    req.end();
  });
}

const url = (path: string, base = '/1.0/instances/c1/files') => `${base}?path=${encodeURIComponent(path)}`;
const envelope = (r: Reply) => JSON.parse(r.body.toString('utf8')) as { type: string; error: string; error_code: number; metadata: unknown };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('files API', { skip: !existsSync(main) && `agent not built (${main})` }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-files-api-'));
    rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'root'), { recursive: true });
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(join(rootfs, 'etc/hostname'), 'c1\n');
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside/sentinel'), 'outside\n');
    symlinkSync(join(dir, 'outside'), join(rootfs, 'escape'));
    symlinkSync('../etc/hostname', join(rootfs, 'root/hn'));

    const varDir = join(dir, 'var');
    mkdirSync(varDir);
    agent = await startAgent({ varDir }, { onLog: () => undefined });

    const resolver: InstanceTargetResolver = {
      resolve: async (project, name) => {
        if (name !== 'c1' || project !== 'default') throw notFound('Instance not found');
        return { name, project, lxcName: name, rootfsPath: rootfs, status: 'Running', uidBase: 1000000, gidBase: 1000000, expandedConfig: {} };
      },
      url: (_project, name) => `/1.0/instances/${name}`,
      lifecycle: (action, _project, name, _identity, context) => void events.push({ action, name, context }),
    };
    const routes = new FilesRoutes(new FilesService(resolver, agent.client));
    app = new FastifyAdapter({ exposeHeadRoutes: false } as ConstructorParameters<typeof FastifyAdapter>[0]).getInstance() as unknown as FastifyInstance;
    app.addHook('onRequest', async (req) => {
      (req.raw as TaggedRequest)[TRANSPORT] = 'unix';
    });
    registerRoutes(app, routes.routes(), { trust: { lookup: () => undefined }, memberNames: ['none'] });
    sock = join(dir, 'unix.socket');
    await app.listen({ path: sock });
  });

  after(async () => {
    await app?.close();
    agent?.client.close();
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('push then pull of a 1 MiB file: lxc file push --uid 1000 --gid 1000 --mode 0600; pull -', async () => {
    const data = randomBytes(1024 * 1024);
    const headers = { 'X-LXD-uid': isRoot ? '1000' : '-1', 'X-LXD-gid': isRoot ? '1000' : '-1', 'X-LXD-mode': '0600', 'X-LXD-type': 'file', 'Transfer-Encoding': 'chunked' };
    const put = await call('POST', url('/root/f'), headers, data);
    assert.equal(put.status, 200, put.body.toString());
    assert.deepEqual(envelope(put), { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: {} });
    const st = statSync(join(rootfs, 'root/f'));
    assert.equal(st.mode & 0o7777, 0o600);
    if (isRoot) assert.equal(`${st.uid}:${st.gid}`, '1000:1000', 'ids are written as given: the rootfs is not shifted');
    assert.deepEqual(events.at(-1), { action: 'instance-file-pushed', name: 'c1', context: { path: '/root/f' } });

    const got = await call('GET', url('root/f'));
    assert.equal(got.status, 200);
    assert.equal(sha(got.body), sha(data));
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.equal(got.headers['content-length'], String(data.length));
    assert.equal(got.headers['content-disposition'], 'inline;filename=f');
    assert.equal(got.headers['x-lxd-type'], 'file');
    assert.equal(got.headers['x-lxd-mode'], '0600');
    if (isRoot) assert.deepEqual([got.headers['x-lxd-uid'], got.headers['x-lxd-gid']], ['1000', '1000']);
    assert.match(String(got.headers['x-lxd-modified']), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    assert.equal(got.headers['last-modified'], new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString());
    assert.deepEqual(events.at(-1), { action: 'instance-file-retrieved', name: 'c1', context: { path: '/root/f' } });
  });

  test('HEAD: the same headers, no body, no event', async () => {
    const before_ = events.length;
    const r = await call('HEAD', url('/root/f'));
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['x-lxd-type'], 'file');
    assert.equal(r.headers['x-lxd-mode'], '0600');
    assert.equal((await call('HEAD', url('/etc'))).headers['x-lxd-type'], 'directory');
    assert.equal((await call('HEAD', url('/nope'))).status, 404);
    assert.equal(events.length, before_);
  });

  test('push -r: directories (empty POST, no content type), nested files; pull -r: listings then files', async () => {
    const dirHeaders = { 'Content-Length': '0', 'X-LXD-uid': '0', 'X-LXD-gid': '0', 'X-LXD-mode': '0755', 'X-LXD-type': 'directory' };
    const mk = await call('POST', url('/root/anc-dir'), dirHeaders);
    assert.equal(mk.status, 200, mk.body.toString());
    assert.equal((await call('POST', url('/root/anc-dir/sub'), dirHeaders)).status, 200);
    const fileHeaders = { 'X-LXD-uid': '0', 'X-LXD-gid': '0', 'X-LXD-mode': '0644', 'X-LXD-type': 'file', 'Transfer-Encoding': 'chunked' };
    const y = await call('POST', url('/root/anc-dir/sub/y'), fileHeaders, 'x\n');
    assert.equal(y.status, 200, y.body.toString());
    assert.equal(statSync(join(rootfs, 'root/anc-dir/sub')).mode & 0o7777, 0o755);
    assert.equal(readFileSync(join(rootfs, 'root/anc-dir/sub/y'), 'utf8'), 'x\n');
    // An existing directory is fine (push -r into an existing tree), and no event is sent for it.
    const n = events.length;
    assert.equal((await call('POST', url('/root/anc-dir'), dirHeaders)).status, 200);
    assert.equal(events.length, n);

    // `lxc query` sends a "" JSON body even on GET.
    const list = await call('GET', url('/root/anc-dir'), { 'Content-Type': 'application/json' }, '""');
    assert.equal(list.status, 200, list.body.toString());
    assert.match(String(list.headers['content-type']), /^application\/json/);
    assert.equal(list.headers['x-lxd-type'], 'directory');
    assert.equal(list.headers['x-lxd-mode'], '0755');
    assert.deepEqual(envelope(list).metadata, ['sub']);
    const sub = await call('GET', url('/root/anc-dir/sub'));
    assert.deepEqual(envelope(sub).metadata, ['y']);
    assert.equal((await call('GET', url('/root/anc-dir/sub/y'))).body.toString(), 'x\n');
  });

  test('symlinks: pushed with the target as body; GET answers the absolute, clean target', async () => {
    const h = { 'X-LXD-type': 'symlink', 'X-LXD-uid': '0', 'X-LXD-gid': '0', 'X-LXD-mode': '0777', 'Transfer-Encoding': 'chunked' };
    assert.equal((await call('POST', url('/root/link'), h, '../etc/./hostname')).status, 200);
    assert.equal(readlinkSync(join(rootfs, 'root/link')), '../etc/./hostname');
    const got = await call('GET', url('/root/link'));
    assert.equal(got.headers['x-lxd-type'], 'symlink');
    assert.equal(got.headers['x-lxd-mode'], '0777');
    assert.equal(got.body.toString(), '/etc/hostname');
    assert.equal((await call('GET', url('/escape'))).body.toString(), join(dir, 'outside'));
    // The same target again is a no-op; another one over it fails.
    assert.equal((await call('POST', url('/root/link'), h, '../etc/./hostname')).status, 200);
    assert.equal((await call('POST', url('/root/link'), h, '/other')).status, 500);
  });

  test('nothing outside the rootfs: reads, writes and deletes through links and `..` stay inside', async () => {
    assert.equal((await call('GET', url('/escape/sentinel'))).status, 404);
    assert.equal((await call('GET', url('/../../outside/sentinel'))).status, 404);
    const h = { 'X-LXD-type': 'file', 'Transfer-Encoding': 'chunked' };
    assert.equal((await call('POST', url('/escape/sentinel'), h, 'pwned')).status, 404);
    assert.equal((await call('POST', url('/escape/new'), h, 'pwned')).status, 404);
    assert.equal((await call('DELETE', url('/escape/sentinel'))).status, 404);
    assert.equal((await call('POST', url('/root/../../../etc/../outside-new'), h, 'inside')).status, 200);
    assert.equal(readFileSync(join(rootfs, 'outside-new'), 'utf8'), 'inside');
    assert.equal(readFileSync(join(dir, 'outside/sentinel'), 'utf8'), 'outside\n');
    assert.ok(!existsSync(join(dir, 'outside/new')));
    assert.ok(!existsSync(join(dir, 'outside-new')));
    // Writing a file through a link follows it inside the container.
    assert.equal((await call('POST', url('/root/hn'), h, 'renamed\n')).status, 200);
    assert.equal(readFileSync(join(rootfs, 'etc/hostname'), 'utf8'), 'renamed\n');
  });

  test('append, delete, and LXD errors', async () => {
    const h = { 'X-LXD-type': 'file', 'X-LXD-write': 'append', 'Transfer-Encoding': 'chunked' };
    assert.equal((await call('POST', url('/root/anc-dir/sub/y'), h, 'more\n')).status, 200);
    assert.equal(readFileSync(join(rootfs, 'root/anc-dir/sub/y'), 'utf8'), 'x\nmore\n');

    const del = await call('DELETE', url('root/anc-dir/sub/y'));
    assert.equal(del.status, 200);
    assert.deepEqual(envelope(del).metadata, {});
    assert.deepEqual(events.at(-1), { action: 'instance-file-deleted', name: 'c1', context: { path: '/root/anc-dir/sub/y' } });
    const again = await call('GET', url('root/anc-dir/sub/y'));
    assert.deepEqual([again.status, envelope(again).error, envelope(again).error_code], [404, 'Not Found', 404]);
    assert.equal(again.headers['x-content-type-options'], 'nosniff');

    const cases: [Promise<Reply>, number, string][] = [
      [call('GET', '/1.0/instances/c1/files'), 400, 'Missing path argument'],
      [call('GET', url('/etc', '/1.0/instances/nope/files')), 404, 'Instance not found'],
      [call('GET', url('/etc', '/1.0/instances/c1%2Fsnap0/files')), 400, 'Invalid instance name'],
      [call('POST', url('/root/x'), { 'X-LXD-write': 'prepend' }, 'x'), 400, 'Bad file write mode: prepend'],
      [call('POST', url('/root/x'), { 'X-LXD-type': 'fifo' }, 'x'), 400, 'Bad file type: fifo'],
      [call('POST', url('/root/x'), { 'X-LXD-uid': '99999999999' }, 'x'), 400, 'Invalid uid "99999999999"'],
      [call('POST', url('/no/such/dir'), { 'X-LXD-type': 'file' }, 'x'), 404, 'Not Found'],
      [call('POST', url('/root/x'), { 'X-LXD-type': 'file', 'X-LXD-write': 'append' }, 'x'), 404, 'Not Found'],
      [call('DELETE', url('/root/anc-dir')), 500, 'remove /root/anc-dir: directory not empty'],
      [call('POST', url('/etc'), { 'X-LXD-type': 'file' }, 'x'), 500, 'open /etc: is a directory'],
    ];
    for (const [reply, status, error] of cases) {
      const r = await reply;
      assert.deepEqual([r.status, envelope(r).error], [status, error], r.body.toString());
    }
    assert.ok(!existsSync(join(rootfs, 'root/x')));
  });

  test('pylxd: the legacy /1.0/containers URL and a bare POST (no X-LXD headers) make a 0644 root file', async () => {
    const put = await call('POST', url('/root/pylxd.txt', '/1.0/containers/c1/files'), { 'Content-Length': '11' }, 'pylxd-file\n');
    assert.equal(put.status, 200);
    const st = lstatSync(join(rootfs, 'root/pylxd.txt'));
    assert.equal(st.mode & 0o7777, 0o644);
    assert.equal(st.uid, process.getuid?.());
    const got = await call('GET', url('/root/pylxd.txt', '/1.0/containers/c1/files'));
    assert.equal(got.body.toString(), 'pylxd-file\n');
    assert.equal(got.headers['content-disposition'], 'inline;filename=pylxd.txt');
  });

  test('an upload the client abandons leaves no hung request behind', async () => {
    await new Promise<void>((resolve) => {
      const req = request({ socketPath: sock, method: 'POST', path: url('/root/abandoned'), headers: { 'X-LXD-type': 'file', 'Transfer-Encoding': 'chunked' } });
      req.on('error', () => resolve());
      req.write(randomBytes(256 * 1024));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    // The agent and the API still answer.
    const r = await call('GET', url('/etc/hostname'));
    assert.equal(r.status, 200);
  });
});
