// Profiles through the real `lxc`: every verb, asserted on the resulting `lxc profile show` YAML.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, describeRun, parseYaml } from './harness/index.js';

describe('profiles', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
  });
  after(async () => {
    await d?.dispose();
  });

  const ok = async (args: string[], input?: string) => {
    const r = await d.lxc(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, describeRun(r));
    return r;
  };
  const fails = async (args: string[], stderr: RegExp) => {
    const r = await d.lxc(args);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, stderr, describeRun(r));
    return r;
  };
  const show = async (name: string, project?: string) => {
    const r = await ok(['profile', 'show', name, ...(project ? ['--project', project] : [])]);
    return parseYaml(r.stdout);
  };
  const names = async (project?: string): Promise<string[]> => {
    const r = await ok(['profile', 'list', '--format', 'json', ...(project ? ['--project', project] : [])]);
    return (JSON.parse(r.stdout) as { name: string }[]).map((p) => p.name).sort();
  };

  test('a fresh daemon has only the empty default profile', async () => {
    assert.deepEqual(await names(), ['default']);
    assert.deepEqual(await show('default'), { config: {}, description: 'Default LXD profile', devices: {}, name: 'default', used_by: [] });
  });

  test('create, set, unset', async () => {
    const r = await ok(['profile', 'create', 'p1']);
    assert.match(r.stdout, /Profile p1 created/);
    assert.deepEqual(await show('p1'), { config: {}, description: '', devices: {}, name: 'p1', used_by: [] });
    await fails(['profile', 'create', 'p1'], /already exists/);
    await ok(['profile', 'set', 'p1', 'limits.cpu', '2']);
    await ok(['profile', 'set', 'p1', 'user.foo', 'bar']);
    assert.deepEqual((await show('p1')).config, { 'limits.cpu': '2', 'user.foo': 'bar' });
    const g = await ok(['profile', 'get', 'p1', 'user.foo']);
    assert.equal(g.stdout.trim(), 'bar');
    await ok(['profile', 'unset', 'p1', 'user.foo']);
    assert.deepEqual((await show('p1')).config, { 'limits.cpu': '2' });
    await fails(['profile', 'set', 'p1', 'foo.bar', '1'], /Unknown configuration key: foo\.bar/);
    assert.deepEqual((await show('p1')).config, { 'limits.cpu': '2' });
  });

  test('device add and remove', async () => {
    await ok(['profile', 'device', 'add', 'p1', 'd1', 'disk', 'path=/mnt', 'source=/tmp']);
    await ok(['profile', 'device', 'add', 'p1', 'eth0', 'nic', 'nictype=p2p', 'name=eth0']);
    assert.deepEqual((await show('p1')).devices, {
      d1: { path: '/mnt', source: '/tmp', type: 'disk' },
      eth0: { name: 'eth0', nictype: 'p2p', type: 'nic' },
    });
    await fails(['profile', 'device', 'add', 'p1', 'eth0', 'nic', 'nictype=p2p', 'name=eth0'], /The device already exists/);
    await ok(['profile', 'device', 'remove', 'p1', 'd1']);
    assert.deepEqual((await show('p1')).devices, { eth0: { name: 'eth0', nictype: 'p2p', type: 'nic' } });
    await fails(['profile', 'device', 'remove', 'p1', 'nope'], /Device doesn't exist/);
  });

  test('edit replaces the profile with YAML from stdin', async () => {
    const yaml = [
      'config:',
      '  limits.memory: 1GiB',
      '  user.note: "edited via stdin"',
      'description: edited profile',
      'devices:',
      '  eth1:',
      '    name: eth1',
      '    nictype: p2p',
      '    type: nic',
      '  data:',
      '    path: /data',
      '    source: /srv',
      '    type: disk',
      '',
    ].join('\n');
    await ok(['profile', 'edit', 'p1'], yaml);
    assert.deepEqual(await show('p1'), {
      config: { 'limits.memory': '1GiB', 'user.note': 'edited via stdin' },
      description: 'edited profile',
      devices: {
        data: { path: '/data', source: '/srv', type: 'disk' },
        eth1: { name: 'eth1', nictype: 'p2p', type: 'nic' },
      },
      name: 'p1',
      used_by: [],
    });
  });

  test('copy and rename', async () => {
    await ok(['profile', 'copy', 'p1', 'p2']);
    const p1 = await show('p1');
    assert.deepEqual(await show('p2'), { ...p1, name: 'p2' });
    const r = await ok(['profile', 'rename', 'p2', 'p3']);
    assert.match(r.stdout, /Profile p2 renamed to p3/);
    await fails(['profile', 'show', 'p2'], /not found/i);
    assert.deepEqual(await show('p3'), { ...p1, name: 'p3' });
    await fails(['profile', 'rename', 'p3', 'default'], /already in use|already exists/);
    await fails(['profile', 'rename', 'default', 'xx'], /The "default" profile cannot be renamed/);
    assert.deepEqual(await names(), ['default', 'p1', 'p3']);
  });

  test('delete, and default cannot be deleted', async () => {
    let r = await ok(['profile', 'delete', 'p1']);
    assert.match(r.stdout, /Profile p1 deleted/);
    await ok(['profile', 'delete', 'p3']);
    r = await fails(['profile', 'delete', 'default'], /^Error: The "default" profile cannot be deleted$/m);
    await fails(['profile', 'delete', 'p1'], /Profile not found/);
    assert.deepEqual(await names(), ['default']);
    assert.equal((await show('default')).description, 'Default LXD profile');
  });

  test('a project with features.profiles has its own default profile', async () => {
    let r = await ok(['project', 'create', 'p', '-c', 'features.profiles=true']);
    assert.match(r.stdout, /Project p created/);
    assert.deepEqual(await names('p'), ['default']);
    const def = await show('default', 'p');
    assert.equal(def.description, 'Default LXD profile for project p');
    assert.deepEqual(def.config, {});
    await ok(['profile', 'create', 'inp', '--project', 'p']);
    assert.deepEqual(await names('p'), ['default', 'inp']);
    assert.deepEqual(await names(), ['default'], 'the default project does not see it');
    await ok(['profile', 'delete', 'inp', '--project', 'p']);
    r = await ok(['project', 'delete', 'p']);
    assert.match(r.stdout, /Project p deleted/);
    const list = await ok(['project', 'list', '--format', 'json']);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { name: string }[]).map((p) => p.name),
      ['default'],
    );
  });
});
