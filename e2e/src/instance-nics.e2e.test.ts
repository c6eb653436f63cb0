// NIC devices on real containers: bridged to an existing (address-less) bridge the test creates, and p2p.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, busyboxImageDir, describeRun, run } from './harness/index.js';

const ready = process.getuid?.() === 0 && existsSync('/usr/bin/lxc-start');
const bridge = `lxdtsbr${process.pid % 10000}`;

describe('instance NICs (real containers)', { skip: ready ? false : 'needs root and liblxc' }, () => {
  let d: TestDaemon;
  const ok = async (args: string[]) => {
    const r = await d.lxc(args);
    assert.equal(r.code, 0, describeRun(r));
    return r.stdout;
  };
  before(async () => {
    const br = await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    assert.equal(br.code, 0, describeRun(br));
    await run('ip', ['link', 'set', bridge, 'up']);
    d = await TestDaemon.start();
    assert.equal((await d.cli(['init', '--auto'])).code, 0);
    await ok(['image', 'import', join(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
  });
  after(async () => {
    if (d) {
      for (const n of ['n1', 'n2']) await d.lxc(['delete', '--force', n]);
      await d.dispose();
    }
    await run('ip', ['link', 'del', bridge]);
  });

  test('a bridged NIC puts the host end of a veth on the bridge and eth0 in the container', async () => {
    await ok(['init', 'busybox', 'n1']);
    await ok(['config', 'device', 'add', 'n1', 'eth0', 'nic', 'nictype=bridged', `parent=${bridge}`, 'name=eth0']);
    await ok(['start', 'n1']);
    const state = (await d.client.query('/1.0/instances/n1/state')).json as { network: Record<string, { host_name: string; hwaddr: string }> };
    const eth0 = state.network['eth0'];
    assert.ok(eth0, 'eth0 inside the container');
    assert.ok(eth0.host_name, 'host-side veth name');
    assert.equal(basename(readlinkSync(`/sys/class/net/${eth0.host_name}/master`)), bridge);
    const hwaddr = (await ok(['config', 'get', 'n1', 'volatile.eth0.hwaddr'])).trim();
    assert.equal(eth0.hwaddr, hwaddr);
    assert.equal((await ok(['exec', 'n1', '--', 'cat', '/sys/class/net/eth0/address'])).trim(), hwaddr);
  });

  test('a NIC whose parent does not exist is refused on a running container, and nothing changes', async () => {
    const before = (await d.client.query('/1.0/instances/n1')).json as { devices: Record<string, unknown> };
    const r = await d.lxc(['config', 'device', 'add', 'n1', 'eth9', 'nic', 'nictype=bridged', 'parent=lxdtsnosuchbr']);
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /Failed to start device "eth9": Parent device "lxdtsnosuchbr" doesn't exist/);
    const after = (await d.client.query('/1.0/instances/n1')).json as { devices: Record<string, unknown> };
    assert.deepEqual(after.devices, before.devices);
  });

  test('a p2p NIC is a veth pair without a bridge', async () => {
    await ok(['init', 'busybox', 'n2']);
    await ok(['config', 'device', 'add', 'n2', 'eth0', 'nic', 'nictype=p2p', 'name=eth0']);
    await ok(['start', 'n2']);
    const state = (await d.client.query('/1.0/instances/n2/state')).json as { network: Record<string, { host_name: string }> };
    const host = state.network['eth0']?.host_name;
    assert.ok(host && existsSync(`/sys/class/net/${host}`), 'host end exists');
    assert.ok(!existsSync(`/sys/class/net/${host}/master`), 'not enslaved');
    assert.match(readFileSync(`/sys/class/net/${host}/type`, 'utf8').trim(), /^1$/);
    await ok(['stop', '--force', 'n2']);
    assert.ok(!existsSync(`/sys/class/net/${host}`), 'the veth goes with the container');
  });
});
