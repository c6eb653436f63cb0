import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { certificateFingerprint, generateCertificate } from '../tls/server-certificate.js';
import { type ClusterTls, TunnelError, dialMemberDatabase, handleDatabaseUpgrade } from './database-tunnel.js';
import { DialProxy } from './dial-proxy.js';

const pair = generateCertificate('cluster');
const cluster: ClusterTls = { ...pair, fingerprint: certificateFingerprint(pair.cert) };
const otherPair = generateCertificate('intruder');
const intruder: ClusterTls = { ...otherPair, fingerprint: certificateFingerprint(otherPair.cert) };

const read = (s: Duplex, bytes: number) =>
  new Promise<string>((resolve) => {
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.length >= bytes) resolve(got);
    });
    s.resume();
  });

describe('database tunnel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-tunnel-'));
  const nodeAddress = `@lxdts-test-node-${process.pid}`;
  let node: NetServer;
  let https: Server;
  let address = '';
  before(async () => {
    // A stand-in for the local dqlite node: echoes what it gets, upper-cased.
    node = createNetServer((s) => s.on('data', (c: Buffer) => s.write(c.toString().toUpperCase())));
    await new Promise<void>((r) => node.listen(`\0${nodeAddress.slice(1)}`, r));
    https = createHttpsServer({ cert: cluster.cert, key: cluster.key, requestCert: true, rejectUnauthorized: false });
    https.on('upgrade', (req, socket, head) => {
      if (!handleDatabaseUpgrade(req, socket, head, { tls: () => cluster, localNode: () => nodeAddress })) socket.destroy();
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(https.address() as AddressInfo).port}`;
  });
  after(async () => {
    https.closeAllConnections();
    await new Promise((r) => https.close(r));
    await new Promise((r) => node.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('a member with the cluster certificate reaches the peer node', async () => {
    const s = await dialMemberDatabase(address, cluster);
    s.write('hello');
    assert.equal(await read(s, 5), 'HELLO');
    s.destroy();
  });

  test('a client without the cluster certificate is refused, and a peer with another certificate is not trusted', async () => {
    await assert.rejects(dialMemberDatabase(address, { ...intruder, fingerprint: cluster.fingerprint }), (e: Error) => e instanceof TunnelError && /HTTP 403/.test(e.message));
    await assert.rejects(dialMemberDatabase(address, intruder), (e: Error) => e instanceof TunnelError && /does not present the cluster certificate/.test(e.message));
  });

  test('the dial proxy carries a raw connection named by its first line', async () => {
    const proxy = new DialProxy(join(dir, 'dial.socket'), (a) => dialMemberDatabase(a, cluster));
    await proxy.listen();
    try {
      const { connect } = await import('node:net');
      const s = connect(proxy.path);
      s.write(`${address}\nabc`);
      assert.equal(await read(s, 3), 'ABC');
      s.destroy();
    } finally {
      await proxy.close();
    }
  });
});
