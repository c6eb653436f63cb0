import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import type { AgentTemplatesApplyRequest } from '@lxdts/api-types';
import { AgentError } from '../errors.js';
import { applyTemplates } from './template-applier.js';
import { decodeTemplatesApply } from './templates.routes.js';

const METADATA = `architecture: x86_64
creation_date: 1700000000
properties:
  os: busybox
templates:
  /etc/hostname:
    when:
      - create
      - copy
    create_only: false
    template: hostname.tpl
    properties: {}
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
  /etc/motd:
    when: [start]
    template: motd.tpl
    properties:
      greeting: Welcome
  /etc/network/interfaces:
    when: [create]
    create_only: true
    template: interfaces.tpl
  /etc/cloud/user-data:
    when: [create]
    template: user-data.tpl
`;

describe('template application', () => {
  const root = mkdtempSync(join(tmpdir(), 'lxdts-templates-'));
  let volume = '';
  let rootfs = '';
  let n = 0;
  const req = (over: Partial<AgentTemplatesApplyRequest> = {}): AgentTemplatesApplyRequest => ({
    rootfsPath: rootfs,
    triggers: ['create', 'start'],
    instance: { name: 'c1', architecture: 'x86_64', ephemeral: false, privileged: false },
    config: { 'user.user-data': '#cloud-config\npackages: [vim]\n', 'limits.cpu': '2' },
    devices: { eth0: { type: 'nic', network: 'lxdbr0' } },
    ...over,
  });
  const read = (p: string) => readFileSync(join(rootfs, p), 'utf8');

  beforeEach(() => {
    volume = join(root, `vol${n++}`);
    rootfs = join(volume, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    mkdirSync(join(volume, 'templates'));
    writeFileSync(join(volume, 'metadata.yaml'), METADATA);
    writeFileSync(join(volume, 'templates/hostname.tpl'), '{{ container.name }}\n');
    writeFileSync(join(volume, 'templates/hosts.tpl'), '127.0.1.1\t{{ instance.name }}\n');
    writeFileSync(join(volume, 'templates/motd.tpl'), '{{ properties.greeting }} to {{ instance.name }} ({{ trigger }}, {{ config_get("limits.cpu", "?") }} cpus, {{ devices.eth0.network }})\n');
    writeFileSync(join(volume, 'templates/interfaces.tpl'), 'auto eth0\n');
    writeFileSync(join(volume, 'templates/user-data.tpl'), '{{ config_get("user.user-data", "#cloud-config\\n{}") }}\n');
    writeFileSync(join(rootfs, 'etc/hostname'), 'busybox\n', { mode: 0o644 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('create + start: every matching template rendered, in path order, with the instance context', async () => {
    const r = await applyTemplates(req());
    assert.deepEqual(r.rendered, ['create:/etc/cloud/user-data', 'create:/etc/hostname', 'create:/etc/hosts', 'create:/etc/network/interfaces', 'start:/etc/motd']);
    assert.equal(read('etc/hostname'), 'c1\n');
    assert.equal(read('etc/hosts'), '127.0.1.1\tc1\n');
    assert.equal(read('etc/motd'), 'Welcome to c1 (start, 2 cpus, lxdbr0)\n');
    assert.equal(read('etc/cloud/user-data'), '#cloud-config\npackages: [vim]\n');
    const st = statSync(join(rootfs, 'etc/network/interfaces'));
    assert.equal(st.mode & 0o777, 0o644);
    assert.equal(statSync(join(rootfs, 'etc/network')).mode & 0o777, 0o755);
    if (process.getuid?.() === 0) assert.deepEqual([st.uid, st.gid], [0, 0]);
  });

  test('copy: only copy and start templates; create_only files are left alone; start alone on later starts', async () => {
    writeFileSync(join(rootfs, 'etc/network-existing'), '');
    await applyTemplates(req({ triggers: ['create'] }));
    writeFileSync(join(rootfs, 'etc/network/interfaces'), 'edited by the user\n');
    const r = await applyTemplates(req({ triggers: ['copy', 'start'], instance: { name: 'c2', architecture: 'x86_64', ephemeral: true, privileged: true } }));
    assert.deepEqual(r.rendered, ['copy:/etc/hostname', 'copy:/etc/hosts', 'start:/etc/motd']);
    assert.equal(read('etc/hostname'), 'c2\n');
    assert.equal(read('etc/network/interfaces'), 'edited by the user\n');
    assert.deepEqual((await applyTemplates(req({ triggers: ['start'] }))).rendered, ['start:/etc/motd']);
    assert.equal(read('etc/hostname'), 'c2\n', 'start does not touch create/copy targets');
  });

  test('no metadata.yaml: nothing to do', async () => {
    rmSync(join(volume, 'metadata.yaml'));
    assert.deepEqual((await applyTemplates(req())).rendered, []);
    assert.equal(read('etc/hostname'), 'busybox\n');
  });

  test('broken templates fail the start with a useful message and leave the target untouched', async () => {
    writeFileSync(join(volume, 'templates/hostname.tpl'), '{% if %}');
    await assert.rejects(applyTemplates(req()), (e: unknown) => e instanceof AgentError && e.status === 400 && /Failed to render template "hostname.tpl" for \/etc\/hostname/.test(e.message));
    assert.equal(read('etc/hostname'), 'busybox\n');
    rmSync(join(volume, 'templates/hostname.tpl'));
    await assert.rejects(applyTemplates(req()), /Failed to read template "hostname.tpl".*no such file/);
  });

  test('includes are read from the templates folder, nested, and fail like the template itself', async () => {
    writeFileSync(join(volume, 'templates/hostname.tpl'), '{% include "part.tpl" %}{% include "part.tpl" %}\n');
    writeFileSync(join(volume, 'templates/part.tpl'), '[{{ instance.name }}{% include "inner/leaf.tpl" %}]');
    mkdirSync(join(volume, 'templates/inner'));
    writeFileSync(join(volume, 'templates/inner/leaf.tpl'), '.leaf');
    await applyTemplates(req({ triggers: ['create'] }));
    assert.equal(read('etc/hostname'), '[c1.leaf][c1.leaf]\n');
    writeFileSync(join(volume, 'templates/hostname.tpl'), 'x{% include "missing.tpl" %}');
    await assert.rejects(applyTemplates(req()), /Failed to render template "hostname.tpl".*cannot include 'missing.tpl'.*no such file/);
    writeFileSync(join(volume, 'templates/hostname.tpl'), '{% include "../metadata.yaml" %}');
    await assert.rejects(applyTemplates(req()), /cannot include '..\/metadata.yaml'.*outside of the root file system/);
  });

  test('template files and targets cannot leave their roots', async () => {
    writeFileSync(join(root, 'host-secret'), 'secret');
    symlinkSync('../../host-secret', join(volume, 'templates/hostname.tpl.lnk'));
    writeFileSync(join(volume, 'metadata.yaml'), METADATA.replace('template: hostname.tpl', 'template: hostname.tpl.lnk'));
    await assert.rejects(applyTemplates(req()), /Failed to read template.*outside/);
    writeFileSync(join(volume, 'metadata.yaml'), 'templates:\n  /../../escaped:\n    when: [create]\n    template: hostname.tpl\n');
    await assert.rejects(applyTemplates(req()), /Failed to write template.*outside/);
    assert.ok(!existsSync(join(root, 'escaped')));
    symlinkSync(root, join(rootfs, 'etc/hostlink'));
    writeFileSync(join(volume, 'metadata.yaml'), 'templates:\n  /etc/hostlink/host-secret:\n    when: [create]\n    template: hostname.tpl\n');
    await applyTemplates(req());
    assert.equal(readFileSync(join(root, 'host-secret'), 'utf8'), 'secret');
    assert.equal(readFileSync(join(rootfs, root, 'host-secret'), 'utf8'), 'c1\n');
  });

  test('requests are checked', async () => {
    await assert.rejects(applyTemplates(req({ rootfsPath: 'relative' })), /absolute/);
    await assert.rejects(applyTemplates(req({ triggers: ['bogus' as 'start'] })), /Unknown template trigger/);
    assert.throws(() => decodeTemplatesApply({ rootfsPath: '/x', triggers: 'start' }), /"triggers" must be an array/);
    const decoded = decodeTemplatesApply({ rootfsPath: '/x', triggers: ['start'], instance: { name: 'a', architecture: 'x86_64' }, config: { a: 'b' } });
    assert.deepEqual(decoded.instance, { name: 'a', architecture: 'x86_64', ephemeral: false, privileged: false });
    assert.deepEqual(decoded.devices, {});
  });
});
