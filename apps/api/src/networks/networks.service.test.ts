import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '@lxdts/raft-store';
import { ApiError } from '../http/api-error.js';
import { fixtureTree } from '../resources/fixture-tree.js';
import { HostInterfacesReader } from './host-interfaces.reader.js';
import { InterfaceStateReader } from './interface-state.reader.js';
import { NetworksRepository } from './networks.repository.js';
import type { Identity } from '../auth/identity.js';
import type { EventsService } from '../events/events.service.js';
import { NetworkAclsRepository } from './network-acls.repository.js';
import { NetworksService } from './networks.service.js';

const status = (code: number) => (err: unknown) => err instanceof ApiError && err.status === code;

test('networks: managed rows first, then host interfaces; unknown names 404; changes refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-networks-'));
  const tree = fixtureTree({
    'sys/class/net/lo/ifindex': '1',
    'sys/class/net/lo/flags': '0x9',
    'sys/class/net/eth0/ifindex': '2',
    'sys/class/net/eth0/flags': '0x1003',
    'sys/class/net/eth0/device': { dir: true },
    'sys/class/net/lxdbr0/ifindex': '3',
    'sys/class/net/lxdbr0/flags': '0x1003',
    'sys/class/net/lxdbr0/bridge': { dir: true },
  });
  const store = await SqliteStore.open(join(dir, 'db', 'local.db'));
  try {
    await store.db.insertInto('networks').values({ project_id: 1, name: 'lxdbr0', description: 'br', type: 'bridge', state: 1 }).execute();
    await store.db.insertInto('networks_config').values({ network_id: 1, node_id: null, key: 'ipv4.address', value: '10.0.0.1/24' }).execute();
    await store.db.insertInto('profiles_devices').values({ profile_id: 1, name: 'eth0', type: 'nic' }).execute();
    await store.db.insertInto('profiles_devices_config').values({ profile_device_id: 1, key: 'network', value: 'lxdbr0' }).execute();
    const calls: string[] = [];
    const agent = {
      ensureBridge: async (spec: { name: string }) => void calls.push(`ensure ${spec.name}`),
      deleteBridge: async (name: string) => void calls.push(`delete ${name}`),
      bridgeLeases: async () => [],
    };
    const events = { lifecycle: () => undefined } as unknown as EventsService;
    const svc = new NetworksService(new NetworksRepository(store), new HostInterfacesReader(tree.root), new InterfaceStateReader(tree.root, () => ({})), events, agent, new NetworkAclsRepository(store));
    const who = { type: 'unix', name: 'root', trusted: true, admin: true, projects: [] } as unknown as Identity;

    const all = await svc.list('default');
    assert.deepEqual(all.map((n) => [n.name, n.managed, n.type]), [['lxdbr0', true, 'bridge'], ['lo', false, 'loopback'], ['eth0', false, 'physical']]);
    assert.deepEqual(all[0], {
      config: { 'ipv4.address': '10.0.0.1/24' }, description: 'br', name: 'lxdbr0', type: 'bridge',
      used_by: ['/1.0/profiles/default'], managed: true, status: 'Created', locations: ['none'],
    });
    assert.deepEqual(all[1]!.used_by, []);
    assert.equal(all[2]!.used_by, null);
    assert.equal(all[2]!.locations, null);

    assert.equal((await svc.get('eth0', 'default')).type, 'physical');
    await assert.rejects(svc.get('nope', 'default'), status(404));
    await assert.rejects(svc.get('eth0', 'missing-project'), status(404));
    assert.throws(() => svc.state('nope'), status(404));
    assert.equal(svc.state('lo').type, 'loopback');

    await assert.rejects(svc.create({ name: 'br1', type: 'ovn', config: {}, description: '' }, 'default', who), /Network type "ovn" is not supported yet/);
    await assert.rejects(svc.create({ name: 'mv1', type: 'macvlan', config: {}, description: '' }, 'default', who), /option "parent": Required value/);
    await assert.rejects(svc.create({ name: 'br1', type: 'weird', config: {}, description: '' }, 'default', who), /Unknown network type "weird"/);
    await assert.rejects(svc.create({ name: 'lxdbr0', type: 'bridge', config: {}, description: '' }, 'default', who), status(409));
    await assert.rejects(svc.create({ name: '', type: '', config: {}, description: '' }, 'default', who), /No name provided/);
    await assert.rejects(svc.create({ name: 'br1', type: '', config: { foo: 'x' }, description: '' }, 'default', who), /Invalid option for network "br1" option "foo"/);
    await assert.rejects(svc.create({ name: 'br1', type: '', config: { 'ipv4.address': '10.0.0.300/24' }, description: '' }, 'default', who), /invalid CIDR address/);
    await assert.rejects(svc.create({ name: 'br1', type: '', config: { 'ipv4.address': '10.0.0.9/24' }, description: '' }, 'default', who), /overlaps with network "lxdbr0"/);
    assert.deepEqual(calls, [], 'nothing asked of the agent');
    assert.equal(await svc.create({ name: 'br1', type: '', config: { 'ipv4.address': '10.0.1.1/24', 'ipv4.nat': 'true' }, description: '' }, 'default', who), '/1.0/networks/br1');
    assert.deepEqual((await svc.get('br1', 'default')).config, { 'ipv4.address': '10.0.1.1/24', 'ipv4.nat': 'true', 'ipv6.address': 'none' });
    await assert.rejects(svc.delete('lxdbr0', 'default', who), /currently in use/);
    await svc.delete('br1', 'default', who);
    assert.deepEqual(calls, ['ensure br1', 'delete br1']);
    await assert.rejects(svc.delete('lo', 'default', who), status(400));
    await assert.rejects(svc.delete('nope', 'default', who), status(404));
  } finally {
    await store.close();
    tree.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
