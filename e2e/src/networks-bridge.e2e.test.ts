// Managed bridges through the real `lxc` client: bad input refused with nothing made; a bridge with dnsmasq and NAT;
// two containers get DHCP leases (in `lxc network list-leases` and `lxc list`), resolve each other by name and reach
// a server in another namespace through NAT (the server sees the host's address); a network in use can't go;
// deleting it leaves no bridge, dnsmasq or nftables table. Traffic stays inside the bridge and a namespace the test
// makes (198.51.100.0/30, TEST-NET-2).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, busyboxImageDir, describeRun, lxcAsserts } from './harness/index.js';

const usable =
  process.getuid?.() === 0 && existsSync('/usr/bin/lxc-start') && spawnSync('dnsmasq', ['--version']).status === 0 && spawnSync('nft', ['--version']).status === 0;
const BR = `ltbr${process.pid % 10000}`;
const EXT = `ltext${process.pid % 10000}`;
const SUBNET = '10.213.57';

/** dnsmasq processes serving the bridge (their command line names it). */
function dnsmasqFor(bridge: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return cmd[0]?.endsWith('dnsmasq') && cmd.includes(`--interface=${bridge}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('managed bridge networks (real containers)', { skip: !usable && 'needs root, liblxc, dnsmasq and nft' }, () => {
  let d: TestDaemon;
  let server: ReturnType<typeof spawn> | null = null;
  const { ok, fails } = lxcAsserts(() => d);
  const lease = async (name: string) => {
    await ok(['exec', name, '--', 'udhcpc', '-i', 'eth0', '-q', '-n', '-t', '10', '-x', `hostname:${name}`]);
    const addr = await ok(['exec', name, '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    const m = new RegExp(`inet (${SUBNET.replace(/\./g, '\\.')}\\.\\d+)/24`).exec(addr);
    assert.ok(m, addr);
    return m[1] as string;
  };

  before(async () => {
    d = await TestDaemon.start();
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    await ok(['image', 'import', join(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
    // The "outside": a namespace with a veth to the host and no route back to the bridge's subnet.
    execFileSync('ip', ['netns', 'add', EXT]);
    execFileSync('ip', ['link', 'add', `${EXT}h`, 'type', 'veth', 'peer', 'name', `${EXT}n`]);
    execFileSync('ip', ['link', 'set', `${EXT}n`, 'netns', EXT]);
    execFileSync('ip', ['addr', 'add', '198.51.100.1/30', 'dev', `${EXT}h`]);
    execFileSync('ip', ['link', 'set', `${EXT}h`, 'up']);
    execFileSync('ip', ['-n', EXT, 'addr', 'add', '198.51.100.2/30', 'dev', `${EXT}n`]);
    execFileSync('ip', ['-n', EXT, 'link', 'set', `${EXT}n`, 'up']);
    execFileSync('ip', ['-n', EXT, 'link', 'set', 'lo', 'up']);
    // A TCP server that answers with the address it sees the client at.
    const serve = "for (const p of [8080, 8081]) require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(p, '198.51.100.2')";
    server = spawn('ip', ['netns', 'exec', EXT, process.execPath, '-e', serve], { stdio: 'ignore' });
    for (let i = 0; i < 50 && spawnSync('ip', ['netns', 'exec', EXT, 'ss', '-ltn']).stdout.toString().indexOf(':8081') < 0; i++) await new Promise((r) => setTimeout(r, 100));
  });
  after(async () => {
    if (d) {
      for (const name of ['n1', 'n2', 'n3', 'r1', 'h1']) await d.lxc(['delete', '--force', name]);
      await d.lxc(['network', 'delete', BR]);
      await d.dispose();
    }
    server?.kill('SIGKILL');
    spawnSync('ip', ['link', 'delete', `${EXT}h`]);
    spawnSync('ip', ['netns', 'delete', EXT]);
  });

  test('bad input: clear 400s, nothing made', async () => {
    await fails(['network', 'create', BR, 'ipv4.address=10.0.0.300/24'], /invalid CIDR address/);
    await fails(['network', 'create', BR, 'foo=bar'], new RegExp(`Invalid option for network "${BR}" option "foo"`));
    await fails(['network', 'create', BR, 'ipv4.nat=maybe'], /Invalid value for a boolean "maybe"/);
    await fails(['network', 'create', BR, 'ipv4.address=198.51.100.1/24'], /overlaps with interface/);
    await fails(['network', 'create', BR, '--type', 'ovn'], /not supported yet/);
    assert.ok(!existsSync(`/sys/class/net/${BR}`));
    assert.deepEqual(dnsmasqFor(BR), []);
  });

  test('create: a bridge with its address, dnsmasq and a NAT table; an overlapping second one is refused', async () => {
    await ok(['network', 'create', BR, `ipv4.address=${SUBNET}.1/24`, 'ipv4.nat=true', 'ipv6.address=none', 'dns.domain=lxdtest']);
    assert.match(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', BR], { encoding: 'utf8' }), new RegExp(`${SUBNET}\\.1/24`));
    assert.equal(dnsmasqFor(BR).length, 1);
    assert.match(execFileSync('nft', ['list', 'table', 'inet', `lxdts_${BR}`], { encoding: 'utf8' }), /masquerade/);
    const show = JSON.parse(await ok(['query', `/1.0/networks/${BR}`])) as { managed: boolean; config: Record<string, string>; status: string };
    assert.deepEqual(show.config, { 'dns.domain': 'lxdtest', 'ipv4.address': `${SUBNET}.1/24`, 'ipv4.nat': 'true', 'ipv6.address': 'none' });
    assert.equal(show.managed, true);
    await fails(['network', 'create', `${BR}x`, `ipv4.address=${SUBNET}.9/25`], new RegExp(`overlaps with network "${BR}"`));
  });

  test('two containers: DHCP leases, names resolved by dnsmasq, NAT to another namespace', async () => {
    await ok(['launch', 'busybox', 'n1', '-n', BR]);
    await ok(['launch', 'busybox', 'n2', '-n', BR]);
    const a1 = await lease('n1');
    const a2 = await lease('n2');
    assert.notEqual(a1, a2);
    const leases = JSON.parse(await ok(['query', `/1.0/networks/${BR}/leases`])) as { hostname: string; address: string; type: string }[];
    assert.deepEqual(
      leases.map((l) => [l.hostname, l.address, l.type]).sort(),
      [[`${BR}.gw`, `${SUBNET}.1`, 'gateway'], ['n1', a1, 'dynamic'], ['n2', a2, 'dynamic']].sort(),
    );
    assert.match(await ok(['network', 'list-leases', BR]), /n1/);
    assert.match(await ok(['list', 'n1', '-c', '4', '-f', 'csv']), new RegExp(`${a1.replace(/\./g, '\\.')} \\(eth0\\)`));
    // n1 finds n2 by name (dnsmasq registered the DHCP client's host name under dns.domain).
    const nslookup = await ok(['exec', 'n1', '--', 'nslookup', 'n2.lxdtest']);
    assert.match(nslookup, new RegExp(a2.replace(/\./g, '\\.')));
    await ok(['exec', 'n1', '--', 'ping', '-c', '1', '-W', '5', 'n2.lxdtest']);
    // The outside server sees the host's address: the source was masqueraded.
    const seen = await ok(['exec', 'n1', '--', 'sh', '-c', 'echo | nc -w 5 198.51.100.2 8080']);
    assert.match(seen.trim(), /198\.51\.100\.1$/);
  });

  test('a static ipv4.address on the NIC is what DHCP gives; one outside the subnet is refused', async () => {
    await ok(['init', 'busybox', 'n3', '-n', BR]);
    await fails(['config', 'device', 'set', 'n3', 'eth0', 'ipv4.address=10.9.9.9'], /not usable in network/);
    await ok(['config', 'device', 'set', 'n3', 'eth0', `ipv4.address=${SUBNET}.77`]);
    await ok(['start', 'n3']);
    assert.equal(await lease('n3'), `${SUBNET}.77`);
    await ok(['delete', '--force', 'n3']);
  });

  test('an ACL that drops one port blocks it and nothing else; unassigned, the port works again', async () => {
    const reach = async (port: number) => (await d.lxc(['exec', 'n1', '--', 'sh', '-c', `echo | nc -w 3 198.51.100.2 ${port}`], { timeoutMs: 30_000 })).stdout.trim();
    assert.match(await reach(8080), /198\.51\.100\.1$/);
    await ok(['network', 'acl', 'create', 'blockport']);
    await ok(['network', 'acl', 'rule', 'add', 'blockport', 'egress', 'action=drop', 'protocol=tcp', 'destination=198.51.100.2', 'destination_port=8080']);
    await ok(['network', 'acl', 'rule', 'add', 'blockport', 'egress', 'action=allow']);
    await fails(['network', 'acl', 'rule', 'add', 'blockport', 'egress', 'action=allow', 'protocol=icmp4', 'destination_port=80'], /ports can only be used with tcp or udp/);
    await fails(['network', 'acl', 'create', '9bad'], /Invalid ACL name/);
    await ok(['network', 'set', BR, 'security.acls=blockport']);
    assert.equal(await reach(8080), '', 'port 8080 is dropped');
    assert.match(await reach(8081), /198\.51\.100\.1$/, 'another port still passes');
    await ok(['exec', 'n1', '--', 'ping', '-c', '1', '-W', '5', '198.51.100.2']);
    await ok(['exec', 'n1', '--', 'nslookup', 'n2.lxdtest']);
    await fails(['network', 'acl', 'delete', 'blockport'], /in use/);
    await fails(['network', 'set', BR, 'security.acls=nosuchacl'], /ACL "nosuchacl" not found/);
    await ok(['network', 'unset', BR, 'security.acls']);
    assert.match(await reach(8080), /198\.51\.100\.1$/);
    await ok(['network', 'acl', 'delete', 'blockport']);
  });

  test('supervised and reconciled: a daemon restart adopts the running dnsmasq; a killed dnsmasq comes back', async () => {
    const [before] = dnsmasqFor(BR);
    assert.ok(before);
    await d.stopLeavingInstances();
    await d.restart();
    assert.deepEqual(dnsmasqFor(BR), [before], 'the same dnsmasq, adopted');
    process.kill(before, 'SIGKILL');
    let after: number[] = [];
    for (let i = 0; i < 100 && !(after.length === 1 && after[0] !== before); i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = dnsmasqFor(BR);
    }
    assert.equal(after.length, 1, 'a new dnsmasq');
    assert.notEqual(after[0], before);
    assert.equal(await lease('n2'), (await ok(['list', 'n2', '-c', '4', '-f', 'csv'])).split(' ')[0]);
    await ok(['exec', 'n1', '--', 'nslookup', 'n2.lxdtest']);
  });

  test('a routed NIC: the address in the container, a host route to it, the host reachable through 169.254.0.1', async () => {
    await ok(['init', 'busybox', 'r1']);
    await ok(['config', 'device', 'add', 'r1', 'eth0', 'nic', 'nictype=routed', 'ipv4.address=10.213.90.5']);
    await ok(['start', 'r1']);
    assert.match(await ok(['exec', 'r1', '--', 'ip', '-4', 'addr', 'show', 'eth0']), /inet 10\.213\.90\.5\/32/);
    assert.match(await ok(['exec', 'r1', '--', 'ip', 'route']), /default via 169\.254\.0\.1 dev eth0/);
    assert.match(execFileSync('ip', ['-4', 'route', 'show', '10.213.90.5'], { encoding: 'utf8' }), /10\.213\.90\.5 dev \S+/);
    await ok(['exec', 'r1', '--', 'ping', '-c', '1', '-W', '5', '198.51.100.1']);
    assert.match(await ok(['list', 'r1', '-c', '4', '-f', 'csv']), /10\.213\.90\.5 \(eth0\)/);
    await fails(['config', 'device', 'add', 'r1', 'eth1', 'nic', 'nictype=routed'], /ipv4\.address/);
    await ok(['delete', '--force', 'r1']);
    assert.equal(execFileSync('ip', ['-4', 'route', 'show', '10.213.90.5'], { encoding: 'utf8' }).trim(), '', 'the host route went with it');
  });

  test('lxc network attach/detach on a running container: the NIC appears at once, gets a lease, and goes', async () => {
    await ok(['launch', 'busybox', 'h1']);
    assert.doesNotMatch(await ok(['exec', 'h1', '--', 'ip', 'link']), /eth1/);
    await ok(['network', 'attach', BR, 'h1', 'eth1', 'eth1']);
    assert.match(await ok(['exec', 'h1', '--', 'ip', 'link', 'show', 'eth1']), /eth1.*UP/s);
    await ok(['exec', 'h1', '--', 'udhcpc', '-i', 'eth1', '-q', '-n', '-t', '10']);
    assert.match(await ok(['exec', 'h1', '--', 'ip', '-4', 'addr', 'show', 'eth1']), new RegExp(`inet ${SUBNET.replace(/\./g, '\\.')}\\.\\d+/24`));
    await ok(['network', 'detach', BR, 'h1']);
    assert.doesNotMatch(await ok(['exec', 'h1', '--', 'ip', 'link']), /eth1/);
    await ok(['delete', '--force', 'h1']);
  });

  test('a macvlan network: NICs on it are macvlans of its parent, reaching a namespace on the same parent', async () => {
    const parent = `ltmv${process.pid % 10000}`;
    const peer = `ltmp${process.pid % 10000}`;
    // This kernel has no dummy interfaces: a veth pair's end is the parent.
    execFileSync('ip', ['link', 'add', parent, 'type', 'veth', 'peer', 'name', `${parent}p`]);
    execFileSync('ip', ['link', 'set', parent, 'up']);
    execFileSync('ip', ['link', 'set', `${parent}p`, 'up']);
    try {
      await fails(['network', 'create', 'ltmvnet', '--type', 'macvlan'], /parent/);
      await fails(['network', 'create', 'ltmvnet', '--type', 'macvlan', 'parent=nosuchparent0'], /not found/);
      await ok(['network', 'create', 'ltmvnet', '--type', 'macvlan', `parent=${parent}`]);
      await ok(['launch', 'busybox', 'm1', '-n', 'ltmvnet']);
      const lxcConfig = readFileSync(join(d.lxdDir, 'containers', 'm1', 'config'), 'utf8');
      assert.match(lxcConfig, /lxc\.net\.0\.type = macvlan/);
      assert.match(lxcConfig, new RegExp(`lxc\\.net\\.0\\.link = ${parent}`));
      execFileSync('ip', ['netns', 'add', peer]);
      execFileSync('ip', ['link', 'add', 'link', parent, 'name', peer, 'type', 'macvlan', 'mode', 'bridge']);
      execFileSync('ip', ['link', 'set', peer, 'netns', peer]);
      execFileSync('ip', ['-n', peer, 'addr', 'add', '192.168.251.1/24', 'dev', peer]);
      execFileSync('ip', ['-n', peer, 'link', 'set', peer, 'up']);
      await ok(['exec', 'm1', '--', 'ip', 'addr', 'add', '192.168.251.2/24', 'dev', 'eth0']);
      await ok(['exec', 'm1', '--', 'ping', '-c', '1', '-W', '5', '192.168.251.1']);
      await fails(['network', 'delete', 'ltmvnet'], /currently in use/);
      await ok(['delete', '--force', 'm1']);
      await ok(['network', 'delete', 'ltmvnet']);
    } finally {
      await d.lxc(['delete', '--force', 'm1']);
      await d.lxc(['network', 'delete', 'ltmvnet']);
      spawnSync('ip', ['netns', 'delete', peer]);
      spawnSync('ip', ['link', 'delete', parent]);
    }
  });

  test('in use: no delete; unused: delete removes the bridge, dnsmasq and the nftables table', async () => {
    await fails(['network', 'delete', BR], /currently in use/);
    assert.ok(existsSync(`/sys/class/net/${BR}`));
    await ok(['delete', '--force', 'n1', 'n2']);
    const pids = dnsmasqFor(BR);
    await ok(['network', 'delete', BR]);
    assert.ok(!existsSync(`/sys/class/net/${BR}`));
    assert.deepEqual(dnsmasqFor(BR), []);
    for (const pid of pids) assert.ok(!existsSync(`/proc/${pid}`));
    assert.notEqual(spawnSync('nft', ['list', 'table', 'inet', `lxdts_${BR}`]).status, 0);
  });
});
