// A private network of Linux network namespaces for multi-member tests: one "switch" namespace holding a bridge and
// N member namespaces, each joined to the bridge by a veth pair, addresses from a private /24. The bridge lives in
// its own namespace so nothing is added to the host's root namespace (its routes, firewall and br_netfilter
// settings never see our traffic, and the root namespace has no route to the members: isolation by construction).
//
// Names carry the test process's pid so that leftovers of a crashed run can be told apart and removed once their
// owner is dead: namespaces `lxt<pid>-<k>-sw` / `lxt<pid>-<k>-m<i>`; inside the switch namespace the bridge is
// `lxt<pid>br` and the switch side of member i's veth `lxt<pid>v<i>` (<= 15 chars, IFNAMSIZ); inside member i the
// other end is `eth0`.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './cleanup.js';
import { type RunOptions, type RunResult, describeRun, run } from './run.js';

const PREFIX = 'lxt';
const NETNS_DIR = '/run/netns';
/** `lxt<pid>-<k>-sw`, `lxt<pid>-<k>-m<i>`, or the availability probe `lxt<pid>-probe`. */
const NETNS_NAME = /^lxt(\d+)-(?:\d+-(?:sw|m\d+)|probe)$/;

let counter = 0;
/** Networks of this process not yet disposed, removed at exit if a test forgets or the process is interrupted. */
const live = new Set<TestNetwork>();

export interface NetMember {
  /** 1-based member number. */
  readonly index: number;
  /** The member's network namespace (`ip netns` name). */
  readonly netns: string;
  /** IPv4 address on the member's `eth0`. */
  readonly address: string;
  /** The switch side of the member's veth pair (inside the switch namespace). */
  readonly switchPort: string;
}

async function ip(args: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
  const r = await run('ip', args, { timeoutMs });
  if (r.code !== 0) throw new Error(`ip failed: ${describeRun(r)}`);
  return r;
}

function ipSync(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout : '';
}

/** `ip netns list` names (the first word of each line). */
function listNetns(): string[] {
  return ipSync(['netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function netnsPids(name: string): number[] {
  return ipSync(['netns', 'pids', name])
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** Inode of a named namespace (its identity while it exists), or undefined. */
function netnsInode(name: string): number | undefined {
  try {
    return statSync(`${NETNS_DIR}/${name}`).ino;
  } catch {
    return undefined;
  }
}

/** Processes whose network namespace is one of `inodes` (a deleted namespace lives on while a process is in it). */
function processesIn(inodes: ReadonlySet<number>): number[] {
  const found: number[] = [];
  if (inodes.size === 0) return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/ns/net`));
      if (m && inodes.has(Number(m[1]))) found.push(Number(entry));
    } catch {
      /* gone or not ours to read */
    }
  }
  return found;
}

/** Gone or a zombie (a killed child of this process stays a zombie until the event loop reaps it). */
function isDead(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** SIGKILL every process in the named namespace and wait (up to 5 s) until none is left. */
function killAllInSync(name: string): number[] {
  const pids = netnsPids(name);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 5_000;
  while (!pids.every(isDead) && Date.now() < deadline) spawnSync('sleep', ['0.02']);
  return pids;
}

function deleteNetnsSync(name: string): void {
  killAllInSync(name);
  spawnSync('ip', ['netns', 'delete', name], { timeout: 10_000 });
}

function toInt(a: string): number {
  return a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** [first, last] addresses of a CIDR ("default" and bare addresses included). */
function range(cidr: string): [number, number] | undefined {
  if (cidr === 'default') return undefined; // the default route overlaps everything; it is not a collision
  const [addr, lenText] = cidr.split('/');
  if (!addr || !/^\d+\.\d+\.\d+\.\d+$/.test(addr)) return undefined;
  const len = lenText === undefined ? 32 : Number(lenText);
  const size = 2 ** (32 - len);
  const start = Math.floor(toInt(addr) / size) * size;
  return [start, start + size - 1];
}

/** Every IPv4 range the root namespace routes or owns (all routing tables, all addresses). */
function hostRanges(): [number, number][] {
  const ranges: [number, number][] = [];
  try {
    for (const r of JSON.parse(ipSync(['-j', '-4', 'route', 'show', 'table', 'all']) || '[]') as { dst?: string }[]) {
      const x = r.dst ? range(r.dst) : undefined;
      if (x) ranges.push(x);
    }
    for (const l of JSON.parse(ipSync(['-j', '-4', 'addr']) || '[]') as { addr_info?: { local?: string; prefixlen?: number }[] }[]) {
      for (const a of l.addr_info ?? []) {
        const x = a.local ? range(`${a.local}/${a.prefixlen ?? 32}`) : undefined;
        if (x) ranges.push(x);
      }
    }
  } catch {
    /* unparsable output: no information, take the first candidate */
  }
  return ranges;
}

/** A 10.x.y.0/24 that overlaps nothing routed or addressed in the root namespace nor another live network of ours. */
function pickSubnet(seed: number): string {
  const taken = hostRanges();
  for (const n of live) taken.push(range(`${n.subnet}.0/24`)!);
  // 10.200.0.0 - 10.249.255.0: away from the usual 10.0-10.10 and lxdbr0-style picks; start at a pid-derived slot.
  const slots = 50 * 256;
  for (let i = 0; i < slots; i++) {
    const slot = (seed + i) % slots;
    const prefix = `10.${200 + Math.floor(slot / 256)}.${slot % 256}`;
    const [a, b] = range(`${prefix}.0/24`)!;
    if (!taken.some(([c, d]) => a <= d && c <= b)) return prefix;
  }
  throw new Error('no free 10.200-249.x.0/24 subnet');
}

/** Why namespaces cannot be used here (not root, no `ip netns`), or undefined when they can. */
export async function netnsUnavailableReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `${PREFIX}${process.pid}-probe`;
  const add = await run('ip', ['netns', 'add', probe], { timeoutMs: 10_000 });
  if (add.code !== 0) return `ip netns add does not work here: ${add.stderr.trim() || add.command}`;
  await run('ip', ['netns', 'delete', probe], { timeoutMs: 10_000 });
  return undefined;
}

/**
 * Remove namespaces left by earlier test processes that died without cleaning up: only names of our form whose
 * owning pid is no longer alive (processes still inside them, e.g. orphaned daemons, are killed first).
 * Returns the names removed.
 */
export function removeStaleNetworks(): string[] {
  const removed: string[] = [];
  for (const name of listNetns()) {
    const m = NETNS_NAME.exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    deleteNetnsSync(name);
    removed.push(name);
  }
  return removed;
}

function sweepAtExit(): void {
  for (const n of live) n.disposeSync();
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', sweepAtExit);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) process.once(sig, () => process.exit(code));
}

/** The `/sys/fs/cgroup` mounts of this process, as shell commands that mount the same hierarchies again. */
function cgroupRemountScript(): string {
  const lines: string[] = [];
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fstype, source, superOpts] = right.split(' ');
    const root = f[3];
    const mountPoint = f[4];
    const mountOpts = f[5] ?? '';
    if (!fstype || !mountPoint || root !== '/' || !/^\/sys\/fs\/cgroup(\/[\w.,=-]+)?$/.test(mountPoint)) continue;
    if (!['tmpfs', 'cgroup', 'cgroup2'].includes(fstype)) continue;
    const opts = [...new Set([...mountOpts.split(','), ...(superOpts ?? '').split(',')].filter((o) => o !== ''))].join(',');
    lines.push(`mkdir -p '${mountPoint}' && mount -t ${fstype} -o '${opts}' '${source ?? fstype}' '${mountPoint}'`);
  }
  return lines.join('\n');
}

export class TestNetwork {
  /** `lxt<pid>-<k>`: every namespace of this network starts with it. */
  readonly tag: string;
  /** The namespace holding the bridge. */
  readonly switchNetns: string;
  readonly bridge: string;
  /** First three octets of the /24, e.g. "10.203.17". */
  readonly subnet: string;
  private readonly memberList: NetMember[] = [];
  private lastIndex = 0;
  /** Namespace inodes, kept to prove after deletion that nothing still lives in them. */
  private readonly inodes = new Map<string, number>();
  private disposed = false;

  private constructor() {
    const k = ++counter;
    this.tag = `${PREFIX}${process.pid}-${k}`;
    this.switchNetns = `${this.tag}-sw`;
    this.bridge = `${PREFIX}${process.pid}br`;
    this.subnet = pickSubnet(process.pid * 7 + k * 131);
  }

  /** A switch namespace with a bridge and `n` member namespaces on it (after removing stale ones of dead runs). */
  static async create(n: number): Promise<TestNetwork> {
    removeStaleNetworks();
    installExitHook();
    const net = new TestNetwork();
    live.add(net);
    try {
      await net.addNetns(net.switchNetns);
      await ip(['-n', net.switchNetns, 'link', 'add', net.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      await ip(['-n', net.switchNetns, 'link', 'set', net.bridge, 'up']);
      for (let i = 0; i < n; i++) await net.addMember();
    } catch (err) {
      await net.dispose().catch(() => undefined);
      throw err;
    }
    return net;
  }

  get members(): readonly NetMember[] {
    return this.memberList;
  }

  /** Member `i` (1-based). */
  member(i: number): NetMember {
    const m = this.memberList.find((x) => x.index === i);
    if (!m) throw new Error(`no member ${i} (network ${this.tag} has ${this.memberList.length})`);
    return m;
  }

  address(i: number): string {
    return this.member(i).address;
  }

  netns(i: number): string {
    return this.member(i).netns;
  }

  /** One more member namespace on the bridge (e.g. for a later join); returns it. */
  async addMember(): Promise<NetMember> {
    if (this.disposed) throw new Error(`network ${this.tag} is disposed`);
    const index = ++this.lastIndex; // taken before any await: concurrent calls get distinct members
    if (index > 250) throw new Error('at most 250 members per network');
    const member: NetMember = {
      index,
      netns: `${this.tag}-m${index}`,
      address: `${this.subnet}.${index}`,
      switchPort: `${PREFIX}${process.pid}v${index}`,
    };
    await this.addNetns(member.netns);
    // Created in the switch namespace with its peer directly in the member's: no interface ever appears in the
    // root namespace.
    await ip(['-n', this.switchNetns, 'link', 'add', member.switchPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', member.netns]);
    await ip(['-n', this.switchNetns, 'link', 'set', member.switchPort, 'master', this.bridge, 'up']);
    await ip(['-n', member.netns, 'addr', 'add', `${member.address}/24`, 'dev', 'eth0']);
    await ip(['-n', member.netns, 'link', 'set', 'eth0', 'up']);
    this.memberList.push(member);
    this.memberList.sort((a, b) => a.index - b.index);
    return member;
  }

  private async addNetns(name: string): Promise<void> {
    await ip(['netns', 'add', name]);
    this.inodes.set(name, netnsInode(name) ?? -1);
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  }

  /** `cmd args...` inside member `i`'s namespace (`ip netns exec`); never throws on a non-zero exit. */
  exec(i: number, cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.netns(i), cmd, ...args], opts);
  }

  /**
   * A command prefix that runs a long-lived program (a daemon) in member `i`'s namespace. `ip netns exec` mounts a
   * fresh sysfs for the namespace (so /sys/class/net shows the member's interfaces) in a private mount namespace,
   * which hides /sys/fs/cgroup; the cgroup hierarchies are mounted again there so containers can be started. The
   * last step is `exec`, so the spawned process's pid is the program's own.
   */
  commandPrefix(i: number): string[] {
    const script = `set -e\n${cgroupRemountScript()}\nexec "$@"`;
    return ['ip', 'netns', 'exec', this.netns(i), 'sh', '-c', script, 'lxdts-netns'];
  }

  /** True when a TCP connection from member `from`'s namespace to host:port succeeds within timeoutMs. */
  async canConnect(from: number, host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
    const script =
      `const s=require('net').connect({host:${JSON.stringify(host)},port:${port}});` +
      `const t=setTimeout(()=>process.exit(2),${timeoutMs});` +
      `s.on('connect',()=>{clearTimeout(t);s.destroy();process.exit(0)});s.on('error',()=>process.exit(1));`;
    const r = await this.exec(from, process.execPath, ['-e', script], { timeoutMs: timeoutMs + 5_000 });
    return r.code === 0;
  }

  /** One ICMP echo from member `from` to `address` (busybox ping: Debian has no /bin/ping by default). */
  async ping(from: number, address: string, timeoutSec = 2): Promise<boolean> {
    const r = await this.exec(from, 'busybox', ['ping', '-c', '1', '-W', String(timeoutSec), address], { timeoutMs: (timeoutSec + 5) * 1000 });
    return r.code === 0;
  }

  /** Unplug member `i` at the switch (its switch port down): packets to and from it are dropped, its address stays. */
  async cut(i: number): Promise<void> {
    await ip(['-n', this.switchNetns, 'link', 'set', this.member(i).switchPort, 'down']);
  }

  /** Plug member `i` back in. */
  async heal(i: number): Promise<void> {
    await ip(['-n', this.switchNetns, 'link', 'set', this.member(i).switchPort, 'up']);
  }

  /** Names of this network's namespaces that exist now. */
  existingNetns(): string[] {
    return listNetns().filter((n) => n.startsWith(`${this.tag}-`));
  }

  /** Root-namespace interfaces carrying this process's prefix (there should never be any). */
  rootInterfaces(): string[] {
    const own = `${PREFIX}${process.pid}`;
    return ipSync(['-br', 'link'])
      .split('\n')
      .map((l) => (l.split(/\s+/)[0] ?? '').split('@')[0]!)
      .filter((n) => n.startsWith(own));
  }

  /** Processes still inside one of this network's namespaces (deleted or not). */
  processesInside(): number[] {
    return processesIn(new Set([...this.inodes.values()].filter((ino) => ino >= 0)));
  }

  /** Kill whatever runs in the namespaces, delete them, and check that nothing is left (throws if something is). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposeSync();
    const deadline = Date.now() + 5_000;
    let left: string[] = [];
    for (;;) {
      left = [
        ...this.existingNetns().map((n) => `netns ${n}`),
        ...this.rootInterfaces().map((n) => `interface ${n}`),
        ...this.processesInside().map((p) => `process ${p}`),
      ];
      if (left.length === 0 || Date.now() > deadline) break;
      await sleep(50);
    }
    if (left.length > 0) throw new Error(`network ${this.tag} left behind: ${left.join(', ')}`);
  }

  /** The synchronous part of dispose() (also run at process exit). */
  disposeSync(): void {
    if (this.disposed) return;
    this.disposed = true;
    live.delete(this);
    // Every namespace ever added (also one of a member whose set-up failed half-way), the switch last.
    const names = [...this.inodes.keys()].filter((n) => n !== this.switchNetns).reverse();
    for (const name of [...names, this.switchNetns]) deleteNetnsSync(name);
    // Anything that slipped into a namespace after the kill (none expected) keeps it alive: kill it too.
    for (const pid of this.processesInside()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
