// The host's part of managed bridge networks: the Linux bridge with its IPv4 address and MTU, one dnsmasq per
// network (DHCP with static leases, DNS under `dns.domain`), and an nftables table per network (NAT of the subnet,
// forwarding and DHCP/DNS to the bridge accepted). Files in `$LXD_DIR/networks/<name>/` as LXD keeps them
// (dnsmasq.pid, dnsmasq.leases, dnsmasq.hosts). `ensure` is idempotent: it makes what is missing and adopts a
// dnsmasq that already runs with the same arguments (after an agent restart). Every dnsmasq is supervised: one that
// dies is started again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentAclRule, AgentBridgeLease, AgentBridgeNetworkSpec, AgentInstanceSpec } from '@lxdts/api-types';
import { badRequest } from '../errors.js';
import type { AgentLogger } from '../log.js';
import type { ProcessRunner, SpawnedProcess } from '../process/run.js';
import { cidrHosts, parseCidr } from './ipv4.js';

const NAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** How often adopted dnsmasq processes (not our children) are checked. */
const POLL_MS = 2_000;
const RESTART_DELAY_MS = 1_000;

interface Supervised {
  spec: AgentBridgeNetworkSpec;
  argsHash: string;
  child: SpawnedProcess | null;
  pid: number;
  stopping: boolean;
  timer: NodeJS.Timeout | null;
}

export class BridgeNetworks {
  private readonly dnsmasq = new Map<string, Supervised>();

  constructor(
    private readonly runner: ProcessRunner,
    private readonly log: AgentLogger,
    private readonly networksDir: string,
  ) {}

  dir(name: string): string {
    if (!NAME.test(name)) throw badRequest(`Invalid network name "${name}"`);
    return join(this.networksDir, name);
  }

  /** Makes (or brings back) the network's bridge, address, NAT table and dnsmasq as the spec says. */
  async ensure(spec: AgentBridgeNetworkSpec): Promise<void> {
    const dir = this.dir(spec.name);
    if (spec.ipv4) parseCidr(spec.ipv4.address);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (!existsSync(`/sys/class/net/${spec.name}`)) {
      await this.runner.run('ip', ['link', 'add', 'name', spec.name, 'type', 'bridge'], { timeoutMs: 30_000 });
      this.log.info(`Created bridge ${spec.name}`);
    }
    if (spec.mtu > 0) await this.runner.run('ip', ['link', 'set', 'dev', spec.name, 'mtu', String(spec.mtu)], { timeoutMs: 30_000 });
    await this.runner.run('ip', ['-4', 'addr', 'flush', 'dev', spec.name, 'scope', 'global'], { timeoutMs: 30_000 });
    if (spec.ipv4) await this.runner.run('ip', ['-4', 'addr', 'add', spec.ipv4.address, 'dev', spec.name], { timeoutMs: 30_000 });
    await this.runner.run('ip', ['link', 'set', 'dev', spec.name, 'up'], { timeoutMs: 30_000 });
    await this.applyFirewall(spec);
    if (spec.ipv4?.nat) writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    // One dhcp-host file per NIC with a static address (writeInstanceLeases); dnsmasq watches the directory.
    mkdirSync(join(dir, 'dnsmasq.hosts'), { recursive: true, mode: 0o755 });
    if (spec.ipv4?.dhcp !== false && spec.ipv4) await this.startDnsmasq(spec);
    else await this.stopDnsmasq(spec.name);
  }

  /** Stops dnsmasq, removes the nftables table and the bridge, and the network's files. */
  async delete(name: string): Promise<void> {
    const dir = this.dir(name);
    await this.stopDnsmasq(name);
    await this.runner.tryRun('nft', ['delete', 'table', 'inet', tableName(name)], { timeoutMs: 30_000 });
    if (existsSync(`/sys/class/net/${name}`)) await this.runner.run('ip', ['link', 'delete', 'dev', name], { timeoutMs: 30_000 });
    rmSync(dir, { recursive: true, force: true });
    this.log.info(`Deleted bridge network ${name}`);
  }

  /** The leases dnsmasq has handed out (its lease file). */
  leases(name: string): AgentBridgeLease[] {
    const file = join(this.dir(name), 'dnsmasq.leases');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 4 && /^\d+$/.test(f[0] as string))
      .map(([expiry, hwaddr, address, hostname]) => ({ hwaddr: hwaddr as string, address: address as string, hostname: hostname === '*' ? '' : (hostname as string), expiry: Number(expiry) }));
  }

  /**
   * Before a container starts: a dhcp-host line (`hwaddr,address,name`) for each NIC on a managed bridge of this host
   * with an `ipv4.address`, so dnsmasq always gives it that address; files of NICs it no longer has go.
   */
  writeInstanceLeases(spec: AgentInstanceSpec): void {
    const wanted = new Map<string, string>();
    for (const [dev, d] of Object.entries(spec.devices)) {
      const network = d['network'] ?? '';
      const address = d['ipv4.address'] ?? '';
      if (d['type'] !== 'nic' || !network || !address || !NAME.test(network)) continue;
      const hosts = join(this.networksDir, network, 'dnsmasq.hosts');
      if (!existsSync(hosts)) continue; // not a managed bridge of this host
      const hwaddr = d['hwaddr'] || spec.config[`volatile.${dev}.hwaddr`] || '';
      if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(hwaddr) || !/^[0-9.]+$/.test(address)) throw badRequest(`Device "${dev}": a static address needs a MAC address`);
      wanted.set(join(hosts, `${spec.lxcName}.${dev}`), `${hwaddr},${address},${spec.name}\n`);
    }
    this.removeInstanceLeases(spec.lxcName, new Set(wanted.keys()));
    for (const [file, line] of wanted) writeFileSync(file, line, { mode: 0o644 });
  }

  /** The container's dhcp-host files on every network (instance deleted), but those in `keep`. */
  removeInstanceLeases(lxcName: string, keep: ReadonlySet<string> = new Set()): void {
    if (!existsSync(this.networksDir)) return;
    for (const network of readdirSync(this.networksDir)) {
      const hosts = join(this.networksDir, network, 'dnsmasq.hosts');
      if (!existsSync(hosts)) continue;
      for (const f of readdirSync(hosts)) {
        const file = join(hosts, f);
        if (f.startsWith(`${lxcName}.`) && !keep.has(file)) rmSync(file, { force: true });
      }
    }
  }

  /** The pid of the network's dnsmasq (0: none). */
  dnsmasqPid(name: string): number {
    return this.dnsmasq.get(name)?.pid ?? 0;
  }

  // ---- nftables ----------------------------------------------------------------------------------------------

  private async applyFirewall(spec: AgentBridgeNetworkSpec): Promise<void> {
    const table = tableName(spec.name);
    const br = JSON.stringify(spec.name);
    const acl = spec.acls;
    // Without ACLs everything to and from the bridge passes; with them, traffic from the bridge goes through the
    // egress rules and traffic into it through the ingress rules (DHCP and DNS to and from the host stay allowed).
    const lines = [
      `table inet ${table}`,
      `delete table inet ${table}`,
      `table inet ${table} {`,
      '  chain lxdts_input {',
      '    type filter hook input priority 0; policy accept;',
      `    iifname ${br} udp dport { 53, 67 } accept`,
      `    iifname ${br} tcp dport 53 accept`,
      ...(acl ? [`    iifname ${br} jump lxdts_acl_egress`] : []),
      '  }',
      '  chain lxdts_output {',
      '    type filter hook output priority 0; policy accept;',
      `    oifname ${br} udp sport { 53, 67 } accept`,
      `    oifname ${br} tcp sport 53 accept`,
      ...(acl ? [`    oifname ${br} jump lxdts_acl_ingress`] : []),
      '  }',
      '  chain lxdts_forward {',
      '    type filter hook forward priority 0; policy accept;',
      ...(acl ? [`    iifname ${br} jump lxdts_acl_egress`, `    oifname ${br} jump lxdts_acl_ingress`] : [`    iifname ${br} accept`, `    oifname ${br} accept`]),
      '  }',
    ];
    if (acl) {
      for (const [chain, rules, fallback] of [
        ['lxdts_acl_egress', acl.egress, acl.defaultEgress],
        ['lxdts_acl_ingress', acl.ingress, acl.defaultIngress],
      ] as const) {
        lines.push(`  chain ${chain} {`, '    ct state established,related accept');
        // LXD's order: drop, then reject, then allow rules; then the default action.
        for (const action of ['drop', 'reject', 'allow'] as const) for (const r of rules.filter((x) => x.action === action)) lines.push(`    ${aclRuleText(r)}`);
        lines.push(`    ${verdict(fallback)}`, '  }');
      }
    }
    if (spec.ipv4?.nat) {
      const { network, prefix } = parseCidr(spec.ipv4.address);
      const subnet = `${network}/${prefix}`;
      lines.push('  chain lxdts_postrouting {', '    type nat hook postrouting priority 100; policy accept;', `    ip saddr ${subnet} ip daddr != ${subnet} masquerade`, '  }');
    }
    lines.push('}');
    await this.runner.run('nft', ['-f', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 30_000 });
  }

  // ---- dnsmasq -----------------------------------------------------------------------------------------------

  private dnsmasqArgs(spec: AgentBridgeNetworkSpec): string[] {
    const ipv4 = spec.ipv4 as NonNullable<AgentBridgeNetworkSpec['ipv4']>;
    const dir = this.dir(spec.name);
    const { address } = parseCidr(ipv4.address);
    const ranges = ipv4.dhcpRanges.length ? ipv4.dhcpRanges.map((r) => r.replace('-', ',')) : [defaultRange(ipv4.address)];
    const domain = spec.dnsDomain || 'lxd';
    return [
      '--keep-in-foreground',
      '--strict-order',
      '--bind-interfaces',
      '--except-interface=lo',
      '--pid-file=',
      '--no-ping',
      `--interface=${spec.name}`,
      '--dhcp-rapid-commit',
      `--listen-address=${address}`,
      '--dhcp-no-override',
      '--dhcp-authoritative',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      `--dhcp-hostsdir=${join(dir, 'dnsmasq.hosts')}`,
      ...ranges.map((r) => `--dhcp-range=${r},${ipv4.leaseTime || '1h'}`),
      '--no-resolv',
      '--no-hosts',
      '--expand-hosts',
      `--domain=${domain}`,
      `--local=/${domain}/`,
      '--conf-file=/dev/null',
      '--user=nobody',
      '--group=nogroup',
    ];
  }

  private async startDnsmasq(spec: AgentBridgeNetworkSpec): Promise<void> {
    const args = this.dnsmasqArgs(spec);
    const argsHash = createHash('sha256').update(args.join('\0')).digest('hex');
    const current = this.dnsmasq.get(spec.name);
    if (current && current.argsHash === argsHash && current.pid > 0 && alive(current.pid)) {
      current.spec = spec;
      return;
    }
    // Ours with other arguments goes; one left by an earlier agent with the same arguments is adopted, another
    // one is stopped.
    if (current) await this.stopDnsmasq(spec.name);
    const pidFile = join(this.dir(spec.name), 'dnsmasq.pid');
    const recorded = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim().split(' ') : [];
    const [pidText, hash] = recorded;
    const oldPid = Number(pidText);
    if (oldPid > 0 && alive(oldPid) && isDnsmasqFor(oldPid, spec.name)) {
      if (hash === argsHash) {
        this.supervise({ spec, argsHash, child: null, pid: oldPid, stopping: false, timer: null });
        return;
      }
      process.kill(oldPid, 'SIGTERM');
      await waitGone(oldPid);
    }
    this.spawnDnsmasq({ spec, argsHash, child: null, pid: 0, stopping: false, timer: null }, args);
  }

  private spawnDnsmasq(s: Supervised, args: string[]): void {
    const child = this.runner.spawn('dnsmasq', args);
    child.stdout.resume();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    s.child = child;
    s.pid = child.pid ?? 0;
    writeFileSync(join(this.dir(s.spec.name), 'dnsmasq.pid'), `${s.pid} ${s.argsHash}\n`);
    this.dnsmasq.set(s.spec.name, s);
    void child.exited.then((code) => {
      if (s.stopping || this.dnsmasq.get(s.spec.name) !== s) return;
      this.log.warn(`dnsmasq of network ${s.spec.name} exited (${code})${stderr ? `: ${stderr.trim()}` : ''}; starting it again`);
      this.restartLater(s);
    });
  }

  /** An adopted dnsmasq is polled; when it is gone, a new one is started. */
  private supervise(s: Supervised): void {
    this.dnsmasq.set(s.spec.name, s);
    s.timer = setInterval(() => {
      if (s.stopping || alive(s.pid)) return;
      if (s.timer) clearInterval(s.timer);
      s.timer = null;
      this.log.warn(`dnsmasq of network ${s.spec.name} (pid ${s.pid}) is gone; starting it again`);
      this.restartLater(s);
    }, POLL_MS);
    s.timer.unref();
  }

  private restartLater(s: Supervised): void {
    setTimeout(() => {
      if (s.stopping || this.dnsmasq.get(s.spec.name) !== s) return;
      this.spawnDnsmasq(s, this.dnsmasqArgs(s.spec));
    }, RESTART_DELAY_MS).unref();
  }

  private async stopDnsmasq(name: string): Promise<void> {
    const s = this.dnsmasq.get(name);
    const pidFile = join(this.dir(name), 'dnsmasq.pid');
    let pid = s?.pid ?? 0;
    if (s) {
      s.stopping = true;
      if (s.timer) clearInterval(s.timer);
      this.dnsmasq.delete(name);
    }
    if (!pid && existsSync(pidFile)) {
      const recorded = Number(readFileSync(pidFile, 'utf8').trim().split(' ')[0]);
      if (recorded > 0 && alive(recorded) && isDnsmasqFor(recorded, name)) pid = recorded;
    }
    if (pid > 0 && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitGone(pid);
    }
    rmSync(pidFile, { force: true });
  }
}

const verdict = (action: 'allow' | 'reject' | 'drop') => (action === 'allow' ? 'accept' : action);

/** One ACL rule as an nftables rule (the API checked every field; a rule's addresses are of one family). */
function aclRuleText(r: AgentAclRule): string {
  const set = (items: string[]) => (items.length === 1 ? (items[0] as string) : `{ ${items.join(', ')} }`);
  const v6 = [...r.source, ...r.destination].some((a) => a.includes(':')) || r.protocol === 'icmp6';
  const ip = v6 ? 'ip6' : 'ip';
  const parts: string[] = [];
  if (r.source.length) parts.push(`${ip} saddr ${set(r.source)}`);
  if (r.destination.length) parts.push(`${ip} daddr ${set(r.destination)}`);
  if (r.protocol === 'tcp' || r.protocol === 'udp') {
    parts.push(`meta l4proto ${r.protocol}`);
    if (r.sourcePorts.length) parts.push(`${r.protocol} sport ${set(r.sourcePorts)}`);
    if (r.destinationPorts.length) parts.push(`${r.protocol} dport ${set(r.destinationPorts)}`);
  } else if (r.protocol === 'icmp4' || r.protocol === 'icmp6') {
    const icmp = r.protocol === 'icmp4' ? 'icmp' : 'icmpv6';
    parts.push(`meta l4proto ${r.protocol === 'icmp4' ? 'icmp' : 'ipv6-icmp'}`);
    if (r.icmpType !== '') parts.push(`${icmp} type ${r.icmpType}`);
    if (r.icmpCode !== '') parts.push(`${icmp} code ${r.icmpCode}`);
  }
  if (r.logged) parts.push('log prefix "lxdts-acl "');
  parts.push(verdict(r.action));
  return parts.join(' ');
}

/** nftables table of a network (names: letters, digits, `_`). */
function tableName(network: string): string {
  return `lxdts_${network.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The whole subnet but the network, gateway and broadcast addresses: "first,last". */
function defaultRange(cidr: string): string {
  const { first, last } = cidrHosts(cidr);
  return `${first},${last}`;
}

function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isDnsmasqFor(pid: number, network: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline[0]?.endsWith('dnsmasq') === true && cmdline.includes(`--interface=${network}`);
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
