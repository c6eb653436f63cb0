import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { AgentInstanceSpec, AgentReady } from '@lxdts/api-types';
import { conflict } from '../errors.js';
import { silentLogger } from '../log.js';
import { createProcessRunner } from '../process/run.js';
import type { ContainerCommand, ContainerRuntime } from '../runtime/container-runtime.js';
import { InstanceLogs } from '../runtime/instance-logs.js';
import type { StorageDriver } from '../storage/storage-driver.js';
import { type AgentHttpServer, listenAgentHttp } from './http-server.js';
import { agentRoutes } from './routes.js';

function call(socketPath: string, method: string, path: string, raw?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(raw);
  });
}

/** A command whose output and exit code are scripted. */
function scripted(stdout: string, stderr: string, exitCode: number, seenStdin: string[]): ContainerCommand {
  const out = new PassThrough();
  const err = new PassThrough();
  const stdin = new PassThrough();
  const input: Buffer[] = [];
  stdin.on('data', (c: Buffer) => input.push(c));
  const exited = new Promise<number>((resolve) =>
    stdin.on('finish', () => {
      seenStdin.push(Buffer.concat(input).toString());
      out.end(stdout);
      err.end(stderr);
      resolve(exitCode);
    }),
  );
  return { pid: 1, stdin, stdout: out, stderr: err, exited, kill: () => undefined };
}

describe('agent HTTP server', () => {
  let dir = '';
  let sock = '';
  let server: AgentHttpServer;
  const started: AgentInstanceSpec[] = [];
  const stdins: string[] = [];
  const runtime: ContainerRuntime = {
    list: async () => [{ lxcName: 'c1', status: 'Running', status_code: 103, pid: 42 }],
    start: async (spec) => {
      started.push(spec);
      return { pid: 42, volatile: {} };
    },
    stop: async (name) => {
      if (name === 'stopped') throw conflict('The instance is already stopped');
    },
    freeze: async () => {
      throw new Error('cgroup exploded');
    },
    unfreeze: async () => undefined,
    applyLimits: async () => undefined,
    hotplugDisks: async () => undefined,
    hotplugNics: async () => ({}),
    checkDevices: () => undefined,
    summary: async (n) => ({ lxcName: n, status: 'Running', status_code: 103, pid: 42 }),
    activeStates: async () => {
      throw new Error('unused');
    },
    state: async () => {
      throw new Error('unused');
    },
    exec: async (_name, req) => scripted(`ran ${req.command.join(' ')} in ${req.cwd || '/'}`, 'warn', 3, stdins),
    rename: async () => undefined,
    delete: async () => undefined,
  };
  const storage = { dir: { name: 'dir' } as unknown as StorageDriver };
  const ready = { ready: true, pid: 1 } as unknown as AgentReady;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-agent-http-'));
    sock = join(dir, 'agent.socket');
    writeFileSync(sock, ''); // a stale file from a dead agent
    server = await listenAgentHttp(sock, agentRoutes({ runtime, logs: new InstanceLogs(join(dir, 'logs')), storage, runner: createProcessRunner(silentLogger), ready: () => ready }), silentLogger);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the socket replaces a stale file and is mode 0600', () => {
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    assert.ok(statSync(sock).isSocket());
  });

  test('a second agent on the same socket is refused', async () => {
    await assert.rejects(listenAgentHttp(sock, [], silentLogger), /already listening/);
  });

  test('routes answer JSON; void results are {}', async () => {
    assert.deepEqual(await call(sock, 'GET', '/ready'), { status: 200, body: ready });
    assert.equal((await call(sock, 'GET', '/instances')).body[0].pid, 42);
    assert.deepEqual(await call(sock, 'POST', '/instances/c1/stop', '{"force":true}'), { status: 200, body: {} });
    assert.deepEqual(await call(sock, 'POST', '/instances/c1/unfreeze'), { status: 200, body: {} });
  });

  test('errors: 404 path, 405 verb, 400 JSON and fields, 409 from the runtime, 500 unexpected', async () => {
    assert.deepEqual(await call(sock, 'GET', '/nope'), { status: 404, body: { error: 'Unknown path /nope', code: 'not_found' } });
    assert.equal((await call(sock, 'GET', '/instances/c1/start')).status, 405);
    assert.deepEqual((await call(sock, 'POST', '/instances/c1/stop', '{nope')).body, { error: 'Request body is not valid JSON', code: 'bad_request' });
    assert.deepEqual((await call(sock, 'POST', '/instances/c1/stop', '{"force":"yes"}')).body, { error: '"force" must be a boolean', code: 'bad_request' });
    assert.deepEqual(await call(sock, 'POST', '/instances/stopped/stop', '{}'), {
      status: 409,
      body: { error: 'The instance is already stopped', code: 'conflict' },
    });
    assert.deepEqual(await call(sock, 'POST', '/instances/c1/freeze'), { status: 500, body: { error: 'cgroup exploded', code: 'internal' } });
    assert.equal((await call(sock, 'POST', '/storage/btrfs/volume/create', '{}')).status, 404);
  });

  test('start decodes and checks the spec', async () => {
    const spec = { name: 'c1', project: 'p', lxcName: 'p_c1', rootfsPath: '/r', architecture: 'x86_64', config: { a: 'b' }, devices: { eth0: { type: 'nic' } }, idmap: null };
    assert.deepEqual((await call(sock, 'POST', '/instances/p_c1/start', JSON.stringify({ spec }))).body, { pid: 42, volatile: {} });
    assert.deepEqual(started.at(-1), spec);
    assert.match((await call(sock, 'POST', '/instances/other/start', JSON.stringify({ spec }))).body.error, /differs from the URL/);
    const bad = { ...spec, config: { a: 1 } };
    assert.equal((await call(sock, 'POST', '/instances/p_c1/start', JSON.stringify({ spec: bad }))).body.error, '"config.a" must be a string');
    const badMap = { ...spec, idmap: { uidBase: 0, gidBase: 0, size: 0 } };
    assert.equal((await call(sock, 'POST', '/instances/p_c1/start', JSON.stringify({ spec: badMap }))).body.error, 'Invalid idmap');
  });

  test('exec-simple feeds stdin and buffers output and the exit code', async () => {
    const r = await call(sock, 'POST', '/instances/c1/exec-simple', JSON.stringify({ command: ['ls', '-l'], cwd: '/tmp', stdin: 'input' }));
    assert.deepEqual(r, { status: 200, body: { exitCode: 3, stdout: 'ran ls -l in /tmp', stderr: 'warn' } });
    assert.equal(stdins.at(-1), 'input');
    assert.equal((await call(sock, 'POST', '/instances/c1/exec-simple', '{"command":"ls"}')).status, 400);
  });

  test('close removes the socket', async () => {
    const other = join(dir, 'second.socket');
    const s = await listenAgentHttp(other, [], silentLogger);
    await s.close();
    assert.ok(!existsSync(other));
  });
});
