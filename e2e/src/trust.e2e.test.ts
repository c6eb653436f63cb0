// Trust over HTTPS with the real `lxc`: tokens (`lxc config trust add` → `lxc remote add NAME TOKEN`),
// untrusted clients refused, and the core.trust_password flow.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type LxcClient, TestDaemon, describeRun, freePort, tlsRequest } from './harness/index.js';

function fingerprintOf(pemFile: string): string {
  return new X509Certificate(readFileSync(pemFile)).fingerprint256.replace(/:/g, '').toLowerCase();
}

describe('trust', () => {
  let d: TestDaemon;
  let port: number;
  let addr: string;
  let serverFingerprint: string;
  let tokenClient: LxcClient;
  let passwordClient: LxcClient;
  before(async () => {
    d = await TestDaemon.start();
    port = await freePort();
    addr = `127.0.0.1:${port}`;
  });
  after(async () => {
    await d?.dispose();
  });

  const ok = async (c: LxcClient, args: string[]) => {
    const r = await c.run(args);
    assert.equal(r.code, 0, describeRun(r));
    return r;
  };
  const trusted = async (): Promise<{ name: string; fingerprint: string; type: string }[]> =>
    (await d.client.query('/1.0/certificates?recursion=1')).json;

  test('HTTPS listener on core.https_address', async () => {
    await ok(d.client, ['config', 'set', 'core.https_address', addr]);
    serverFingerprint = (await d.client.query('/1.0')).json.environment.certificate_fingerprint;
    assert.match(serverFingerprint, /^[0-9a-f]{64}$/);
    assert.deepEqual(await trusted(), []);
  });

  let token = '';
  test('lxc config trust add --name c1 prints a token', async () => {
    const r = await ok(d.client, ['config', 'trust', 'add', '--name', 'c1']);
    assert.match(r.stdout, /^Client c1 certificate add token:$/m);
    token = r.stdout.trim().split('\n').pop()!.trim();
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    assert.deepEqual(Object.keys(decoded).sort(), ['addresses', 'client_name', 'expires_at', 'fingerprint', 'secret']);
    assert.equal(decoded.client_name, 'c1');
    assert.equal(decoded.fingerprint, serverFingerprint);
    assert.deepEqual(decoded.addresses, [addr]);
    assert.match(decoded.secret, /^[0-9a-f]{64}$/);
    const tokens = JSON.parse((await ok(d.client, ['config', 'trust', 'list-tokens', '--format', 'json'])).stdout);
    assert.deepEqual(tokens.map((t: { ClientName: string }) => t.ClientName), ['c1']);
  });

  test('a second client redeems it with `lxc remote add r <token>` and is trusted', async () => {
    tokenClient = d.newClient();
    const add = await ok(tokenClient, ['remote', 'add', 'r', token]);
    assert.doesNotMatch(add.stderr, /Error/, describeRun(add));
    const list = await ok(tokenClient, ['profile', 'list', 'r:', '--format', 'json']);
    assert.deepEqual(JSON.parse(list.stdout).map((p: { name: string }) => p.name), ['default']);
    const fp = fingerprintOf(join(tokenClient.conf, 'client.crt'));
    const certs = await trusted();
    assert.deepEqual(certs.map((c) => [c.name, c.type, c.fingerprint]), [['c1', 'client', fp]]);
    const table = await ok(d.client, ['config', 'trust', 'list', '--format', 'csv']);
    assert.match(table.stdout, new RegExp(`^client,c1,.*,${fp.slice(0, 12)},`, 'm'));
    // The token is single-use.
    assert.deepEqual(JSON.parse((await ok(d.client, ['config', 'trust', 'list-tokens', '--format', 'json'])).stdout), []);
    const again = d.newClient();
    const r = await again.run(['remote', 'add', 'r', token]);
    assert.notEqual(r.code, 0, describeRun(r));
  });

  test('the trusted client certificate also works with a raw TLS request', async () => {
    const cert = readFileSync(join(tokenClient.conf, 'client.crt'));
    const key = readFileSync(join(tokenClient.conf, 'client.key'));
    const res = await tlsRequest('127.0.0.1', port, { path: '/1.0' }, { cert, key });
    assert.equal(res.json?.metadata?.auth, 'trusted', res.text);
    const profiles = await tlsRequest('127.0.0.1', port, { path: '/1.0/profiles' }, { cert, key });
    assert.equal(profiles.status, 200, profiles.text);
  });

  test('a client whose certificate is not trusted is refused', async () => {
    const u = d.newClient();
    // Without a token or password `lxc remote add` asks for one; with stdin at EOF it fails and adds nothing.
    const add = await u.run(['remote', 'add', 'u', addr, '--accept-certificate']);
    assert.notEqual(add.code, 0, describeRun(add));
    const remotes = await ok(u, ['remote', 'list', '--format', 'csv']);
    assert.doesNotMatch(remotes.stdout, /^u,/m);
    // Configure the remote by hand (server certificate pinned) and try to use it.
    assert.ok(existsSync(join(u.conf, 'client.crt')), 'lxc generated a client certificate');
    mkdirSync(join(u.conf, 'servercerts'), { recursive: true });
    copyFileSync(join(tokenClient.conf, 'servercerts', 'r.crt'), join(u.conf, 'servercerts', 'u.crt'));
    writeFileSync(
      join(u.conf, 'config.yml'),
      `default-remote: local\nremotes:\n  u:\n    addr: https://${addr}\n    auth_type: tls\n    project: default\n    protocol: lxd\n    public: false\n`,
    );
    const r = await u.run(['profile', 'list', 'u:']);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /not authorized/, describeRun(r));
    const cert = readFileSync(join(u.conf, 'client.crt'));
    const key = readFileSync(join(u.conf, 'client.key'));
    const res = await tlsRequest('127.0.0.1', port, { path: '/1.0' }, { cert, key });
    assert.equal(res.json?.metadata?.auth, 'untrusted', res.text);
    const denied = await tlsRequest('127.0.0.1', port, { path: '/1.0/profiles' }, { cert, key });
    assert.equal(denied.status, 403, denied.text);
    assert.equal((await trusted()).length, 1);
  });

  test('core.trust_password: remote add --password', async () => {
    await ok(d.client, ['config', 'set', 'core.trust_password', 'pw']);
    const wrong = d.newClient();
    const bad = await wrong.run(['remote', 'add', 'r2', addr, '--password', 'not-pw', '--accept-certificate']);
    assert.notEqual(bad.code, 0, describeRun(bad));
    passwordClient = d.newClient();
    const add = await ok(passwordClient, ['remote', 'add', 'r2', addr, '--password', 'pw', '--accept-certificate']);
    assert.match(add.stdout, /Client certificate now trusted by server: r2/);
    const list = await ok(passwordClient, ['profile', 'list', 'r2:', '--format', 'json']);
    assert.deepEqual(JSON.parse(list.stdout).map((p: { name: string }) => p.name), ['default']);
    const fp = fingerprintOf(join(passwordClient.conf, 'client.crt'));
    assert.ok((await trusted()).some((c) => c.fingerprint === fp && c.type === 'client'), 'password client trusted');
    await ok(d.client, ['config', 'unset', 'core.trust_password']);
  });

  test('removing a certificate revokes access; unused tokens can be revoked', async () => {
    for (const c of await trusted()) await ok(d.client, ['config', 'trust', 'remove', c.fingerprint]);
    assert.deepEqual(await trusted(), []);
    const r = await tokenClient.run(['profile', 'list', 'r:']);
    assert.notEqual(r.code, 0, describeRun(r));
    await ok(d.client, ['config', 'trust', 'add', '--name', 'unused']);
    await ok(d.client, ['config', 'trust', 'revoke-token', 'unused']);
    assert.deepEqual(JSON.parse((await ok(d.client, ['config', 'trust', 'list-tokens', '--format', 'json'])).stdout), []);
    await ok(d.client, ['config', 'unset', 'core.https_address']);
  });
});
