import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import type { AgentTemplatesApplyRequest } from '@lxdts/api-types';
import { AgentError } from '../errors.js';
import { parseMetadata, stringifyMetadata } from './image-metadata.js';
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

  test('create + start: every matching template rendered, in path order, with the instance context', () => {
    const r = applyTemplates(req());
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

  test('copy: only copy and start templates; create_only files are left alone; start alone on later starts', () => {
    writeFileSync(join(rootfs, 'etc/network-existing'), '');
    applyTemplates(req({ triggers: ['create'] }));
    writeFileSync(join(rootfs, 'etc/network/interfaces'), 'edited by the user\n');
    const r = applyTemplates(req({ triggers: ['copy', 'start'], instance: { name: 'c2', architecture: 'x86_64', ephemeral: true, privileged: true } }));
    assert.deepEqual(r.rendered, ['copy:/etc/hostname', 'copy:/etc/hosts', 'start:/etc/motd']);
    assert.equal(read('etc/hostname'), 'c2\n');
    assert.equal(read('etc/network/interfaces'), 'edited by the user\n');
    assert.deepEqual(applyTemplates(req({ triggers: ['start'] })).rendered, ['start:/etc/motd']);
    assert.equal(read('etc/hostname'), 'c2\n', 'start does not touch create/copy targets');
  });

  test('no metadata.yaml: nothing to do', () => {
    rmSync(join(volume, 'metadata.yaml'));
    assert.deepEqual(applyTemplates(req()).rendered, []);
    assert.equal(read('etc/hostname'), 'busybox\n');
  });

  test('broken templates fail the start with a useful message and leave the target untouched', () => {
    writeFileSync(join(volume, 'templates/hostname.tpl'), '{% if %}');
    assert.throws(() => applyTemplates(req()), (e: unknown) => e instanceof AgentError && e.status === 400 && /Failed to render template "hostname.tpl" for \/etc\/hostname/.test(e.message));
    assert.equal(read('etc/hostname'), 'busybox\n');
    rmSync(join(volume, 'templates/hostname.tpl'));
    assert.throws(() => applyTemplates(req()), /Failed to read template "hostname.tpl".*no such file/);
  });

  test('template files and targets cannot leave their roots', () => {
    writeFileSync(join(root, 'host-secret'), 'secret');
    symlinkSync('../../host-secret', join(volume, 'templates/hostname.tpl.lnk'));
    writeFileSync(join(volume, 'metadata.yaml'), METADATA.replace('template: hostname.tpl', 'template: hostname.tpl.lnk'));
    assert.throws(() => applyTemplates(req()), /Failed to read template.*outside/);
    writeFileSync(join(volume, 'metadata.yaml'), 'templates:\n  /../../escaped:\n    when: [create]\n    template: hostname.tpl\n');
    assert.throws(() => applyTemplates(req()), /Failed to write template.*outside/);
    assert.ok(!existsSync(join(root, 'escaped')));
    symlinkSync(root, join(rootfs, 'etc/hostlink'));
    writeFileSync(join(volume, 'metadata.yaml'), 'templates:\n  /etc/hostlink/host-secret:\n    when: [create]\n    template: hostname.tpl\n');
    applyTemplates(req());
    assert.equal(readFileSync(join(root, 'host-secret'), 'utf8'), 'secret');
    assert.equal(readFileSync(join(rootfs, root, 'host-secret'), 'utf8'), 'c1\n');
  });

  test('requests are checked', () => {
    assert.throws(() => applyTemplates(req({ rootfsPath: 'relative' })), /absolute/);
    assert.throws(() => applyTemplates(req({ triggers: ['bogus' as 'start'] })), /Unknown template trigger/);
    assert.throws(() => decodeTemplatesApply({ rootfsPath: '/x', triggers: 'start' }), /"triggers" must be an array/);
    const decoded = decodeTemplatesApply({ rootfsPath: '/x', triggers: ['start'], instance: { name: 'a', architecture: 'x86_64' }, config: { a: 'b' } });
    assert.deepEqual(decoded.instance, { name: 'a', architecture: 'x86_64', ephemeral: false, privileged: false });
    assert.deepEqual(decoded.devices, {});
  });
});

test('metadata.yaml round trip keeps templates and quotes what must stay text', () => {
  const meta = parseMetadata(METADATA);
  assert.equal(meta.creation_date, 1700000000);
  assert.deepEqual(meta.templates['/etc/hosts'], { when: ['create', 'copy'], create_only: false, template: 'hosts.tpl', properties: {} });
  assert.equal(meta.templates['/etc/network/interfaces']!.create_only, true);
  const text = stringifyMetadata({ ...meta, properties: { release: '1.35', flag: 'true', description: 'a: b' } });
  assert.match(text, /^architecture: x86_64\ncreation_date: 1700000000\nexpiry_date: 0\nproperties:\n/);
  const back = parseMetadata(text);
  assert.deepEqual(back.properties, { release: '1.35', flag: 'true', description: 'a: b' });
  assert.deepEqual(back.templates, meta.templates);
  assert.throws(() => parseMetadata('templates: [1]'), /templates must be a map/);
  assert.throws(() => parseMetadata(': ['), /Failed to parse metadata.yaml/);
});
