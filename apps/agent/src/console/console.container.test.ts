// The console stream in a real container: a busybox image unpacked through the agent's dir storage, an unprivileged
// container started through the agent's HTTP server on a temporary socket, then lxc-console through the console
// stream: /dev/console output reaches the stream and the console log, bytes typed reach a reader of /dev/console,
// the window size reaches /dev/console, detaching leaves the container running and frees the console, a second
// session is refused while one is attached, and a stopped container ends the session. Cleans up everything it made.
// Skips when not root or when liblxc's tools, `script` or a static busybox are missing.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AgentExecStart, AgentInstanceSummary, AgentReady } from '@lxdts/api-types';
import { ExecTestClient } from '../exec/exec-test-client.js';
import { createLogger, silentLogger } from '../log.js';
import { type RunningAgent, startAgentServer } from '../server/agent-server.js';
import { ConsoleTestClient } from './console-test-client.js';

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (liblxc containers with an idmapped rootfs)';
  if (spawnSync('lxc-start', ['--version']).status !== 0) return 'lxc-start is not installed';
  if (spawnSync('lxc-console', ['--version']).status !== 0) return 'lxc-console is not installed';
  if (spawnSync('script', ['--version']).status !== 0) return 'script (util-linux) is not installed';
  if (!existsSync('/bin/busybox')) return 'needs a static /bin/busybox (busybox-static)';
  return false;
}
const skip = skipReason();

function call<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve((text ? JSON.parse(text) : null) as T);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** A unified LXD image tarball: metadata.yaml + rootfs/ with a static busybox as /sbin/init (no getty). */
function buildBusyboxImage(dir: string): string {
  const src = join(dir, 'image-src');
  const rootfs = join(src, 'rootfs');
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'mnt']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  const applets = execFileSync(join(rootfs, 'bin/busybox'), ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  symlinkSync('../bin/busybox', join(rootfs, 'sbin/init'));
  writeFileSync(join(rootfs, 'etc/inittab'), '::sysinit:/bin/true\n');
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(src, 'metadata.yaml'), 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: busybox\n');
  const tarball = join(dir, 'busybox.tar.xz');
  execFileSync('tar', ['-cJf', tarball, '--numeric-owner', '--owner=0', '--group=0', '-C', src, 'metadata.yaml', 'rootfs']);
  return tarball;
}

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', USER: 'root', LANG: 'C.UTF-8' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('console stream in a real container', { skip }, () => {
  const id = randomBytes(4).toString('hex');
  const name = `lxdts-con-${id}`;
  let dir = '';
  let sock = '';
  let pool = '';
  let agent: RunningAgent | undefined;
  const open: ConsoleTestClient[] = [];

  const attach = async (width = 80, height = 24) => {
    const c = await ConsoleTestClient.open(sock, name, { width, height });
    open.push(c);
    return c;
  };
  const exec = async (command: string[]) => {
    const start: AgentExecStart = { command, env: ENV, cwd: '/root', uid: 0, gid: 0, interactive: false, width: 0, height: 0 };
    const c = await ExecTestClient.open(sock, name, start);
    return c;
  };
  const run = async (command: string[]) => {
    const c = await exec(command);
    c.eof();
    return c.finished(20_000);
  };
  /** Detaches (the next session needs a free console), whatever the test did before. */
  const release = async (c: ConsoleTestClient) => {
    if (c.transcript.exit || c.transcript.error) return;
    c.eof();
    await c.finished(10_000).catch(() => c.close());
  };
  const consoleLog = () => readFileSync(join(dir, 'var', 'logs', name, 'console.log'), 'latin1');
  const summary = () => call<AgentInstanceSummary>(sock, 'GET', `/instances/${name}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-con-'));
    chmodSync(dir, 0o711);
    sock = join(dir, 'agent.socket');
    pool = join(dir, 'pool');
    mkdirSync(pool);
    const log = process.env['LXDTS_TEST_DEBUG'] ? createLogger('debug') : silentLogger;
    agent = await startAgentServer({ socketPath: sock, varDir: join(dir, 'var'), log });
    const ready = await call<AgentReady>(sock, 'GET', '/ready');
    const fingerprint = randomBytes(32).toString('hex');
    await call(sock, 'POST', '/storage/dir/image/unpack', { poolSource: pool, fingerprint, imageFile: buildBusyboxImage(dir) });
    const vol = await call<{ rootfsPath: string }>(sock, 'POST', '/storage/dir/volume/create', {
      volume: { poolSource: pool, type: 'containers', name },
      fromImage: { fingerprint },
    });
    await call(sock, 'POST', `/instances/${name}/start`, {
      spec: {
        name,
        project: 'default',
        lxcName: name,
        rootfsPath: vol.rootfsPath,
        architecture: 'x86_64',
        config: {},
        devices: { root: { type: 'disk', path: '/', pool: 'default' } },
        idmap: ready.defaultIdmap,
      },
    });
  });

  after(async () => {
    for (const c of open) c.close();
    const lxcpath = join(dir, 'var', 'containers');
    if (dir && existsSync(join(lxcpath, name))) spawnSync('lxc-stop', ['-P', lxcpath, '-n', name, '-k']);
    await agent?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('/dev/console output reaches the stream and the console log; detaching leaves the container running', async () => {
    const c = await attach();
    await c.waitFor((t) => t.started !== null, 'started');
    const t = await (async () => {
      try {
        assert.equal((await run(['sh', '-c', 'echo marker-one > /dev/console'])).exitCode, 0);
        await c.waitForOutput(/marker-one\r+\n/);
        assert.match(consoleLog(), /marker-one\r?\n/);
      } finally {
        c.eof();
      }
      return c.finished();
    })();
    assert.deepEqual(t.exit, { detached: true, exitCode: 0 });
    assert.deepEqual(t.order.slice(-2), ['eof1', 'exit']);
    assert.equal((await summary()).status, 'Running');
    // The console is free again: a new session attaches.
    const again = await attach();
    try {
      await again.waitFor((x) => x.started !== null, 'second attach');
    } finally {
      await release(again);
    }
  });

  test('bytes typed on the stream reach a process reading /dev/console (echoed back as the terminal does)', async () => {
    const c = await attach();
    try {
      await c.waitFor((t) => t.started !== null, 'started');
      const reader = await exec(['sh', '-c', 'head -n 1 /dev/console']);
      await sleep(300);
      c.input('typed-line\r');
      const r = await reader.finished(10_000);
      assert.equal(r.stdout, 'typed-line\n');
      await c.waitForOutput(/typed-line\r+\n/);
    } finally {
      await release(c);
    }
  });

  test('the window size reaches the container console, at attach and on resize', async () => {
    const pid = (await summary()).pid;
    // The container's /dev/console seen from the host (the test trusts its own container).
    const size = () => execFileSync('stty', ['-F', `/proc/${pid}/root/dev/console`, 'size'], { encoding: 'utf8' }).trim();
    const c = await attach(100, 40);
    try {
      await c.waitFor((t) => t.started !== null, 'started');
      const until = async (want: string) => {
        let now = size();
        for (let i = 0; i < 40 && now !== want; i++) {
          await sleep(50);
          now = size();
        }
        return now;
      };
      assert.equal(await until('40 100'), '40 100');
      c.resize(132, 50);
      assert.equal(await until('50 132'), '50 132');
    } finally {
      await release(c);
    }
  });

  test('a second session is refused while one is attached', async () => {
    const first = await attach();
    try {
      await first.waitFor((t) => t.started !== null, 'started');
      const second = await (await attach()).finished();
      assert.deepEqual(second.error, { error: 'The console is already in use', code: 'conflict' });
    } finally {
      await release(first);
    }
    assert.equal(first.transcript.exit?.detached, true);
  });

  test('the container stopping ends the session; a stopped container is refused', async () => {
    const c = await attach();
    await c.waitFor((t) => t.started !== null, 'started');
    await call(sock, 'POST', `/instances/${name}/stop`, { force: true });
    const t = await c.finished(15_000);
    assert.equal(t.exit?.detached, false);
    const refused = await (await attach()).finished();
    assert.deepEqual(refused.error, { error: 'Instance is not running', code: 'conflict' });
  });
});
