import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagesPost } from '@lxdts/api-types';
import { includeWhenCopying, planCopy } from './instance-copy.js';
import { expirySeconds, publishCompression, publishSourceName } from './instance-publish.service.js';

const source = {
  config: {
    'image.os': 'busybox',
    'limits.cpu': '2',
    'user.note': 'from c1',
    'volatile.base_image': 'abc',
    'volatile.uuid': 'old-uuid',
    'volatile.eth0.hwaddr': '00:16:3e:00:00:01',
    'volatile.eth0.host_name': 'veth1234',
    'volatile.eth0.name': 'eth0',
    'volatile.last_state.power': 'RUNNING',
    'volatile.last_state.idmap': '[]',
    'volatile.idmap.current': '[]',
    'volatile.apply_template': 'create',
    'volatile.cloud-init.instance-id': 'x',
  },
  devices: { eth0: { type: 'nic', network: 'lxdbr0' }, data: { type: 'disk', source: '/srv', path: '/srv' } },
};

test('local copies keep base_image and last_state.idmap, drop the other volatile keys', () => {
  assert.equal(includeWhenCopying('volatile.base_image'), true);
  assert.equal(includeWhenCopying('volatile.last_state.idmap'), true);
  assert.equal(includeWhenCopying('volatile.eth0.hwaddr'), false);
  assert.equal(includeWhenCopying('volatile.uuid'), false);
  assert.equal(includeWhenCopying('limits.cpu'), true);
});

test('planCopy: what the client sent (lxc copy strips volatile keys) under the source, new uuid, copy templates', () => {
  // The lxc client sends the source's config without volatile keys but base_image.
  const requested = { config: { 'image.os': 'busybox', 'limits.cpu': '4', 'volatile.base_image': 'abc' }, devices: { eth0: { type: 'nic', network: 'other' } } };
  const plan = planCopy(source, requested, () => 'new-uuid');
  assert.deepEqual(plan.config, {
    'image.os': 'busybox',
    'limits.cpu': '4',
    'user.note': 'from c1',
    'volatile.base_image': 'abc',
    'volatile.last_state.idmap': '[]',
    'volatile.uuid': 'new-uuid',
    'volatile.cloud-init.instance-id': 'new-uuid',
    'volatile.apply_template': 'copy',
  });
  assert.deepEqual(plan.devices, { eth0: { type: 'nic', network: 'other' }, data: { type: 'disk', source: '/srv', path: '/srv' } });
  assert.deepEqual(plan.skipped.sort(), [
    'volatile.apply_template',
    'volatile.cloud-init.instance-id',
    'volatile.eth0.host_name',
    'volatile.eth0.hwaddr',
    'volatile.eth0.name',
    'volatile.idmap.current',
    'volatile.last_state.power',
    'volatile.uuid',
  ]);
});

test('planCopy: an empty request copies everything copyable; devices are copies, not shared objects', () => {
  const plan = planCopy(source, { config: {}, devices: {} });
  assert.equal(plan.config['user.note'], 'from c1');
  assert.match(plan.config['volatile.uuid']!, /^[0-9a-f-]{36}$/);
  assert.notEqual(plan.config['volatile.uuid'], 'old-uuid');
  plan.devices['eth0']!['network'] = 'changed';
  assert.equal(source.devices.eth0.network, 'lxdbr0');
});

test('publish: compression choice as LXD (request, project, server, gzip) and only the ones we can pack', () => {
  assert.equal(publishCompression('', undefined, ''), 'gzip');
  assert.equal(publishCompression('', 'xz', 'zstd'), 'xz');
  assert.equal(publishCompression('', '', 'zstd'), 'zstd');
  assert.equal(publishCompression('none', 'xz', ''), 'none');
  assert.throws(() => publishCompression('lz4', '', ''), /Unsupported compression algorithm "lz4"/);
  assert.throws(() => publishCompression('squashfs', '', ''), /Unsupported/);
});

test('publish: source checks and expiry', () => {
  const post = (type: string, name: string) => ({ source: { type, name } }) as unknown as ImagesPost;
  assert.equal(publishSourceName(post('instance', 'c1')), 'c1');
  assert.equal(publishSourceName(post('container', 'c1')), 'c1');
  assert.throws(() => publishSourceName(post('instance', '')), /No source provided/);
  assert.throws(() => publishSourceName(post('instance', 'c1/snap0')), /This is a snapshot/);
  assert.throws(() => publishSourceName(post('snapshot', 'c1')), /Not a snapshot/);
  assert.throws(() => publishSourceName(post('snapshot', 'c1/s')), /not supported yet/);
  assert.equal(expirySeconds(''), 0);
  assert.equal(expirySeconds('0001-01-01T00:00:00Z'), 0);
  assert.equal(expirySeconds('2030-01-01T00:00:00Z'), 1893456000);
});
