// A real bridge, dnsmasq and nftables table on this host (root only), named lxdtsT<pid> so nothing else is touched.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AgentBridgeNetworkSpec } from '@lxdts/api-types';
import { silentLogger } from '../log.js';
import { createProcessRunner } from '../process/run.js';
import { BridgeNetworks } from './bridge-networks.js';
import { cidrHosts, parseCidr } from './ipv4.js';

const usable = process.getuid?.() === 0 && spawnSync('dnsmasq', ['--version']).status === 0 && spawnSync('nft', ['--version']).status === 0;
const name = `lxdtsT${process.pid % 100000}`;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('ipv4: CIDR parsing and the host range', () => {
  assert.deepEqual(parseCidr('10.98.7.1/24'), { address: '10.98.7.1', prefix: 24, network: '10.98.7.0' });
  assert.deepEqual(cidrHosts('10.98.7.1/24'), { first: '10.98.7.2', last: '10.98.7.254' });
  assert.deepEqual(cidrHosts('192.168.5.254/23'), { first: '192.168.4.1', last: '192.168.5.253' });
  assert.throws(() => parseCidr('10.0.0.300/24'), /Invalid IPv4/);
  assert.throws(() => parseCidr('10.0.0.1'), /Invalid IPv4 CIDR/);
});

describe('bridge networks', { skip: !usable && 'needs root, dnsmasq and nft' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-bridge-'));
  const networks = new BridgeNetworks(createProcessRunner(silentLogger), silentLogger, dir);
  const spec: AgentBridgeNetworkSpec = {
    name,
    mtu: 1400,
    ipv4: { address: '10.250.77.1/24', nat: true, dhcp: true, dhcpRanges: [], leaseTime: '1h' },
    dnsDomain: 'lxd',
    acls: null,
  };
  after(async () => {
    await networks.delete(name).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('ensure: the bridge with its address and MTU, the NAT table, a dnsmasq serving it; again: nothing new', async () => {
    await networks.ensure(spec);
    const link = execFileSync('ip', ['-j', 'addr', 'show', 'dev', name], { encoding: 'utf8' });
    assert.match(link, /"mtu":1400/);
    assert.match(link, /"local":"10.250.77.1","prefixlen":24/);
    const table = execFileSync('nft', ['list', 'table', 'inet', `lxdts_${name}`], { encoding: 'utf8' });
    assert.match(table, /ip saddr 10\.250\.77\.0\/24 ip daddr != 10\.250\.77\.0\/24 masquerade/);
    const pid = networks.dnsmasqPid(name);
    assert.ok(pid > 0 && alive(pid));
    networks.writeInstanceLeases({
      name: 'fixed',
      project: 'default',
      lxcName: 'fixed',
      rootfsPath: '/nonexistent',
      architecture: 'x86_64',
      config: { 'volatile.eth0.hwaddr': '00:16:3e:00:00:01' },
      devices: { eth0: { type: 'nic', network: name, 'ipv4.address': '10.250.77.50' }, eth1: { type: 'nic', network: 'elsewhere', 'ipv4.address': '10.9.9.9' } },
      idmap: null,
    });
    assert.equal(readFileSync(join(dir, name, 'dnsmasq.hosts', 'fixed.eth0'), 'utf8'), '00:16:3e:00:00:01,10.250.77.50,fixed\n');
    networks.removeInstanceLeases('fixed');
    assert.ok(!existsSync(join(dir, name, 'dnsmasq.hosts', 'fixed.eth0')));
    assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--dhcp-range=10.250.77.2,10.250.77.254,1h'));
    await networks.ensure(spec);
    assert.equal(networks.dnsmasqPid(name), pid, 'the same dnsmasq');
  });

  test('ACLs: chains for egress and ingress, drop before reject before allow, then the default', async () => {
    const rule = { logged: false, protocol: '' as const, source: [], destination: [], sourcePorts: [], destinationPorts: [], icmpType: '', icmpCode: '' };
    await networks.ensure({
      ...spec,
      acls: {
        egress: [
          { ...rule, action: 'allow' },
          { ...rule, action: 'drop', protocol: 'tcp', destination: ['198.51.100.2'], destinationPorts: ['8080', '9000-9010'] },
        ],
        ingress: [{ ...rule, action: 'reject', protocol: 'icmp4', icmpType: '8' }],
        defaultEgress: 'reject',
        defaultIngress: 'allow',
      },
    });
    const table = execFileSync('nft', ['list', 'table', 'inet', `lxdts_${name}`], { encoding: 'utf8' });
    const egress = table.slice(table.indexOf('chain lxdts_acl_egress'));
    assert.match(egress, /ct state established,related accept\s+ip daddr 198\.51\.100\.2 tcp dport \{ 8080, 9000-9010 \} drop\s+accept\s+reject/);
    assert.match(table, /chain lxdts_acl_ingress \{[^}]*icmp type echo-request reject[^}]*accept/);
    assert.match(table, new RegExp(`iifname "${name}" jump lxdts_acl_egress`));
    await networks.ensure(spec);
    assert.doesNotMatch(execFileSync('nft', ['list', 'table', 'inet', `lxdts_${name}`], { encoding: 'utf8' }), /acl/);
  });

  test('a dnsmasq that dies is started again', async () => {
    const pid = networks.dnsmasqPid(name);
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    let next = 0;
    for (let i = 0; i < 60 && !(next > 0 && next !== pid && alive(next)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      next = networks.dnsmasqPid(name);
    }
    assert.ok(next !== pid && alive(next), `restarted (was ${pid}, now ${next})`);
    // Exec'd (not the fork of the agent any more) before the next test looks at it.
    for (let i = 0; i < 50 && !readFileSync(`/proc/${next}/cmdline`, 'utf8').startsWith('dnsmasq'); i++) await new Promise((r) => setTimeout(r, 20));
  });

  test('a new agent adopts the running dnsmasq', async () => {
    const pid = networks.dnsmasqPid(name);
    const other = new BridgeNetworks(createProcessRunner(silentLogger), silentLogger, dir);
    await other.ensure(spec);
    assert.equal(other.dnsmasqPid(name), pid);
  });

  test('delete: no bridge, no table, no dnsmasq, no files', async () => {
    const pid = networks.dnsmasqPid(name);
    await networks.delete(name);
    assert.ok(!existsSync(`/sys/class/net/${name}`));
    assert.notEqual(spawnSync('nft', ['list', 'table', 'inet', `lxdts_${name}`]).status, 0);
    assert.ok(!alive(pid));
    assert.ok(!existsSync(join(dir, name)));
  });
});
