// Server-level behaviour through the real `lxc`: info, query, server config, the HTTPS listener, events.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BackgroundLxc,
  TestDaemon,
  describeRun,
  errorEnvelopeProblems,
  freePort,
  isListening,
  parseMonitorYaml,
  parseYaml,
  tlsRequest,
} from './harness/index.js';

/** Keys of a trusted GET /1.0 (LXD 5.0.2 `api.Server`). */
const SERVER_KEYS = ['api_extensions', 'api_status', 'api_version', 'auth', 'auth_methods', 'config', 'environment', 'public'];
/** Keys of `environment` in LXD 5.0.2. */
const ENVIRONMENT_KEYS = [
  'addresses', 'architectures', 'certificate', 'certificate_fingerprint', 'driver', 'driver_version', 'firewall',
  'kernel', 'kernel_architecture', 'kernel_features', 'kernel_version', 'lxc_features', 'os_name', 'os_version',
  'project', 'server', 'server_clustered', 'server_event_mode', 'server_name', 'server_pid', 'server_version',
  'storage', 'storage_version', 'storage_supported_drivers',
];
/** Keys of an untrusted GET /1.0. */
const UNTRUSTED_KEYS = ['api_extensions', 'api_status', 'api_version', 'auth', 'auth_methods', 'public'];

describe('server', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
  });
  after(async () => {
    await d?.dispose();
  });

  test('lxc info prints the server as YAML with server_version and api_extensions', async () => {
    const r = await d.lxc(['info']);
    assert.equal(r.code, 0, describeRun(r));
    const info = parseYaml(r.stdout);
    assert.equal(info.api_version, '1.0');
    assert.equal(info.auth, 'trusted');
    assert.ok(Array.isArray(info.api_extensions) && info.api_extensions.length > 0, 'api_extensions is a non-empty list');
    for (const ext of ['etag', 'projects', 'storage', 'certificate_token']) assert.ok(info.api_extensions.includes(ext), `extension ${ext}`);
    assert.equal(info.environment?.server_version, '5.0.2');
    assert.equal(info.environment?.server, 'lxd');
  });

  test('lxc query /1.0 has LXD 5.0.2 keys', async () => {
    const { result, json } = await d.client.query('/1.0');
    assert.equal(result.code, 0, describeRun(result));
    assert.deepEqual(Object.keys(json).sort(), [...SERVER_KEYS].sort());
    const missing = ENVIRONMENT_KEYS.filter((k) => !(k in json.environment));
    assert.deepEqual(missing, [], `environment keys missing: ${missing.join(', ')}`);
    assert.equal(json.api_status, 'stable');
    assert.equal(json.public, false);
    assert.deepEqual(json.auth_methods, ['tls']);
    assert.equal(json.environment.server_pid, d.pid);
    assert.equal(json.environment.server_clustered, false);
    assert.match(json.environment.certificate_fingerprint, /^[0-9a-f]{64}$/);
    assert.match(json.environment.certificate, /^-----BEGIN CERTIFICATE-----/);
  });

  test('config set/get/unset core.https_address opens and closes the HTTPS listener', async () => {
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    let r = await d.lxc(['config', 'set', 'core.https_address', addr]);
    assert.equal(r.code, 0, describeRun(r));
    r = await d.lxc(['config', 'get', 'core.https_address']);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout.trim(), addr);
    const { json } = await d.client.query('/1.0');
    assert.equal(json.config['core.https_address'], addr);
    assert.ok(json.environment.addresses.includes(addr), `environment.addresses ${JSON.stringify(json.environment.addresses)} has ${addr}`);

    // A real HTTPS request without a client certificate: untrusted view of /1.0, 403 elsewhere.
    const untrusted = await tlsRequest('127.0.0.1', port, { path: '/1.0' });
    assert.equal(untrusted.status, 200, untrusted.error ?? untrusted.text);
    assert.equal(untrusted.json.type, 'sync');
    assert.equal(untrusted.json.metadata.auth, 'untrusted');
    assert.deepEqual(Object.keys(untrusted.json.metadata).sort(), UNTRUSTED_KEYS);
    const denied = await tlsRequest('127.0.0.1', port, { path: '/1.0/profiles' });
    assert.equal(denied.status, 403, denied.text);
    assert.deepEqual(errorEnvelopeProblems(denied), []);
    assert.equal(denied.json.error, 'not authorized');

    r = await d.lxc(['config', 'unset', 'core.https_address']);
    assert.equal(r.code, 0, describeRun(r));
    r = await d.lxc(['config', 'get', 'core.https_address']);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout.trim(), '');
    let open = true;
    for (let i = 0; i < 50 && open; i++) {
      open = await isListening(port);
      if (open) await sleep(100);
    }
    assert.equal(open, false, `nothing listens on ${addr} after unset`);
  });

  test('lxc config set of an unknown key fails and changes nothing', async () => {
    const before = (await d.client.query('/1.0')).json.config;
    const r = await d.lxc(['config', 'set', 'foo.bar', '1']);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /^Error: .*foo\.bar/m);
    assert.match(r.stderr, /unknown key/);
    const afterCfg = (await d.client.query('/1.0')).json.config;
    assert.deepEqual(afterCfg, before);
    const g = await d.lxc(['config', 'get', 'foo.bar']);
    assert.equal(g.stdout.trim(), '');
  });

  test('lxc monitor --type lifecycle sees config-updated, profile-created and profile-deleted', async () => {
    let mon: BackgroundLxc | undefined;
    try {
      mon = d.client.spawnBackground(['monitor', '--type', 'lifecycle']);
      // The monitor prints nothing when connected: poke the server until a first event shows up.
      let ready = false;
      for (let i = 0; i < 50 && !ready; i++) {
        await d.lxc(['config', 'set', 'core.proxy_ignore_hosts', `probe${i}`]);
        await sleep(200);
        ready = parseMonitorYaml(mon.stdout).length > 0;
      }
      assert.ok(ready, `lxc monitor saw no event\nstdout: ${mon.stdout}\nstderr: ${mon.stderr}`);
      await sleep(300); // let the events of the last probe arrive before counting them
      const seen = parseMonitorYaml(mon.stdout).length;

      const steps = [
        ['config', 'set', 'core.proxy_ignore_hosts', 'example.com'],
        ['config', 'unset', 'core.proxy_ignore_hosts'],
        ['profile', 'create', 'monprof'],
        ['profile', 'delete', 'monprof'],
      ];
      for (const s of steps) {
        const r = await d.lxc(s);
        assert.equal(r.code, 0, describeRun(r));
      }
      const want = ['config-updated', 'config-updated', 'profile-created', 'profile-deleted'];
      let events: any[] = [];
      for (let i = 0; i < 50; i++) {
        events = parseMonitorYaml(mon.stdout).slice(seen);
        if (events.length >= want.length) break;
        await sleep(100);
      }
      assert.deepEqual(
        events.map((e) => e.metadata?.action),
        want,
        `events: ${JSON.stringify(events, null, 1)}`,
      );
      for (const e of events) {
        assert.equal(e.type, 'lifecycle');
        assert.equal(e.project, 'default');
        assert.equal(e.metadata.requestor?.protocol, 'unix');
        assert.ok(!Number.isNaN(Date.parse(e.timestamp)), `timestamp ${e.timestamp}`);
      }
      assert.equal(events[0].metadata.source, '/1.0');
      assert.equal(events[2].metadata.source, '/1.0/profiles/monprof');
      assert.equal(events[3].metadata.source, '/1.0/profiles/monprof');
    } finally {
      await mon?.stop();
    }
  });
});
