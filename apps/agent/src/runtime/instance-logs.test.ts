// The log endpoints on a real agent HTTP server over a temporary log directory: raw bytes (not UTF-8) come out as
// they are on disk, the list, clear, delete, and names that would leave the directory.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../log.js';
import { type AgentHttpServer, listenAgentHttp } from '../server/http-server.js';
import { InstanceLogs } from './instance-logs.js';
import { instanceLogRoutes } from './instance-logs.routes.js';

interface Answer {
  status: number;
  type: string | undefined;
  length: string | undefined;
  body: Buffer;
}

describe('instance log endpoints', () => {
  let dir = '';
  let sock = '';
  let server: AgentHttpServer;
  const call = (method: string, path: string) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request({ socketPath: sock, method, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], length: res.headers['content-length'], body: Buffer.concat(chunks) }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  const json = (a: Answer) => JSON.parse(a.body.toString('utf8')) as unknown;
  const logDir = () => join(dir, 'logs', 'c1');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-logs-'));
    sock = join(dir, 'agent.socket');
    mkdirSync(logDir(), { recursive: true });
    server = await listenAgentHttp(sock, instanceLogRoutes(new InstanceLogs(join(dir, 'logs'))), silentLogger);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a log with bytes that are not UTF-8 is served byte for byte', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x1b, 0x5b, 0x6d, 0x0a]);
    writeFileSync(join(logDir(), 'console.log'), bytes);
    const r = await call('GET', '/instances/c1/logs/console.log');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/octet-stream');
    assert.equal(r.length, String(bytes.length));
    assert.deepEqual(r.body, bytes);
    writeFileSync(join(logDir(), 'empty.log'), '');
    assert.deepEqual((await call('GET', '/instances/c1/logs/empty.log')).body, Buffer.alloc(0));
  });

  test('the list holds the regular files, by name; none for a container without a log directory', async () => {
    writeFileSync(join(logDir(), 'lxc.log'), 'x');
    writeFileSync(join(logDir(), 'exec_0b1d.stdout'), 'out');
    mkdirSync(join(logDir(), 'subdir'), { recursive: true });
    assert.deepEqual(json(await call('GET', '/instances/c1/logs')), { files: ['console.log', 'empty.log', 'exec_0b1d.stdout', 'lxc.log'] });
    assert.deepEqual(json(await call('GET', '/instances/never-started/logs')), { files: [] });
  });

  test('clear empties, delete removes; a missing file is not_found with the error of the operation', async () => {
    assert.equal((await call('POST', '/instances/c1/logs/console.log/clear')).status, 200);
    assert.equal(readFileSync(join(logDir(), 'console.log')).length, 0);
    assert.equal((await call('POST', '/instances/c1/logs/nothing.log/clear')).status, 200);
    assert.equal((await call('POST', '/instances/c1/logs/exec_0b1d.stdout/delete')).status, 200);
    assert.equal(existsSync(join(logDir(), 'exec_0b1d.stdout')), false);
    const again = await call('POST', '/instances/c1/logs/exec_0b1d.stdout/delete');
    assert.deepEqual([again.status, json(again)], [404, { error: `remove ${join(logDir(), 'exec_0b1d.stdout')}: no such file or directory`, code: 'not_found' }]);
    const missing = await call('GET', '/instances/c1/logs/exec_0b1d.stdout');
    assert.deepEqual([missing.status, json(missing)], [404, { error: `open ${join(logDir(), 'exec_0b1d.stdout')}: no such file or directory`, code: 'not_found' }]);
  });

  test('names stay inside the container\'s log directory; a symlink there is not followed', async () => {
    writeFileSync(join(dir, 'secret'), 'host file');
    symlinkSync(join(dir, 'secret'), join(logDir(), 'exec_link.stdout'));
    assert.notEqual((await call('GET', '/instances/c1/logs/exec_link.stdout')).status, 200);
    assert.equal((await call('GET', `/instances/c1/logs/${encodeURIComponent('../c1/lxc.log')}`)).status, 400);
    // `..` segments are resolved away by the URL itself: another path, unknown.
    for (const path of ['/instances/c1/logs/..', '/instances/../logs/secret']) assert.equal((await call('GET', path)).status, 404, path);
    assert.notEqual((await call('POST', '/instances/c1/logs/exec_link.stdout/clear')).status, 200);
    assert.equal(readFileSync(join(dir, 'secret'), 'utf8'), 'host file');
  });
});
