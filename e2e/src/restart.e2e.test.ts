// State survives a daemon restart: `lxdts shutdown`, then a new `lxdts daemon` on the same LXD_DIR.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, describeRun, freePort, isListening, makeTempDir, removeTempDir, tlsRequest } from './harness/index.js';

describe('restart', () => {
  let d: TestDaemon;
  let src: string;
  let port: number;
  before(async () => {
    d = await TestDaemon.start();
    src = makeTempDir('pool');
    port = await freePort();
  });
  after(async () => {
    await d?.dispose();
    if (src) removeTempDir(src);
  });

  const ok = async (args: string[], input?: string) => {
    const r = await d.lxc(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, describeRun(r));
    return r;
  };
  const state = async () => {
    const out: Record<string, unknown> = {};
    for (const path of ['/1.0/profiles?recursion=1', '/1.0/projects?recursion=1', '/1.0/storage-pools?recursion=1', '/1.0/profiles?recursion=1&project=rproj']) {
      const { result, json } = await d.client.query(path);
      assert.equal(result.code, 0, describeRun(result));
      out[path] = json;
    }
    out['config'] = (await d.client.query('/1.0')).json.config;
    return out;
  };

  let snapshot: Record<string, unknown>;

  test('create a profile, a project, a pool and set server keys', async () => {
    await ok(['profile', 'create', 'rprof']);
    await ok(['profile', 'set', 'rprof', 'user.a', '1']);
    await ok(['profile', 'device', 'add', 'rprof', 'eth0', 'nic', 'nictype=p2p', 'name=eth0']);
    await ok(['project', 'create', 'rproj', '-c', 'features.profiles=true', '-c', 'user.p=x']);
    await ok(['profile', 'create', 'inproj', '--project', 'rproj']);
    await ok(['storage', 'create', 'rpool', 'dir', `source=${src}`]);
    await ok(['storage', 'edit', 'rpool'], `config:\n  source: ${src}\ndescription: survives restarts\n`);
    await ok(['config', 'set', 'core.proxy_ignore_hosts', 'example.org']);
    await ok(['config', 'set', 'core.https_address', `127.0.0.1:${port}`]);
    snapshot = await state();
    assert.equal((snapshot['config'] as Record<string, string>)['core.proxy_ignore_hosts'], 'example.org');
  });

  test('lxdts shutdown stops the daemon cleanly and a new daemon starts on the same LXD_DIR', async () => {
    const oldPid = d.pid;
    await d.restart();
    assert.equal(d.lastStopForced, false, `shutdown did not end the daemon by itself\n${d.log()}`);
    assert.notEqual(d.pid, oldPid);
    const { json } = await d.client.query('/1.0');
    assert.equal(json.environment.server_pid, d.pid);
  });

  test('everything is still there', async () => {
    assert.deepEqual(await state(), snapshot);
    const p = (await d.client.query('/1.0/profiles/rprof')).json;
    assert.deepEqual(p.config, { 'user.a': '1' });
    assert.deepEqual(p.devices, { eth0: { name: 'eth0', nictype: 'p2p', type: 'nic' } });
    assert.ok(readdirSync(src).includes('containers'), 'pool directory kept');
    assert.equal(await isListening(port), true, 'HTTPS listener restored from core.https_address');
    const res = await tlsRequest('127.0.0.1', port, { path: '/1.0' });
    assert.equal(res.json?.metadata?.auth, 'untrusted');
  });

  test('clean up: delete what was created', async () => {
    await ok(['config', 'unset', 'core.https_address']);
    await ok(['profile', 'delete', 'inproj', '--project', 'rproj']);
    await ok(['project', 'delete', 'rproj']);
    await ok(['profile', 'delete', 'rprof']);
    await ok(['storage', 'delete', 'rpool']);
  });
});
