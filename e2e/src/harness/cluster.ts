// N lxdts daemons on one machine, each in its own network namespace (TestNetwork) with its own temporary LXD_DIR,
// for cluster tests. Every daemon runs under `ip netns exec <member ns>`; its unix socket is a file on the shared
// filesystem, so the real `lxc` and the `lxdts` CLI reach each member from the root namespace through its LXD_DIR,
// while HTTPS between members (`core.https_address` = `<member ip>:8443`) only exists inside the private network.
//
// Clustering itself (`lxc cluster enable`, join tokens, joins) is not provided here: tests drive it through
// lxc()/cli() (cli() takes a preseed on stdin), lxcInNetns() (a client inside a member's namespace, e.g. for
// `lxc remote add` over HTTPS) and addMember() (a fresh standalone member to join).
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './cleanup.js';
import { type DaemonStartOptions, TestDaemon, daemonCommand } from './daemon.js';
import { type LxcClient, type LxcOptions } from './lxc.js';
import { type NetMember, TestNetwork } from './netns.js';
import { LXC_BIN } from './paths.js';
import { type RunOptions, type RunResult, describeRun, run } from './run.js';

/** The port members listen on for HTTPS (LXD's default), free in every namespace. */
export const CLUSTER_HTTPS_PORT = 8443;

export interface ClusterStartOptions {
  /** Extra flags for every `lxdts daemon` (e.g. ['--debug']). */
  daemonArgs?: string[];
  /** Seconds for `lxdts waitready` (default 60). */
  readyTimeout?: number;
  /** Set `core.https_address` on every member once started (default false). */
  https?: boolean;
}

export class ClusterMember {
  constructor(
    private readonly network: TestNetwork,
    readonly net: NetMember,
    readonly daemon: TestDaemon,
  ) {}

  /** 1-based member number. */
  get index(): number {
    return this.net.index;
  }

  /** A server name for the member (e.g. for `lxc cluster enable member1`). */
  get name(): string {
    return `member${this.net.index}`;
  }

  get netns(): string {
    return this.net.netns;
  }

  get address(): string {
    return this.net.address;
  }

  /** `<address>:8443`, the value setHttpsAddress() gives core.https_address. */
  get httpsAddress(): string {
    return `${this.net.address}:${CLUSTER_HTTPS_PORT}`;
  }

  get lxdDir(): string {
    return this.daemon.lxdDir;
  }

  get client(): LxcClient {
    return this.daemon.client;
  }

  /** The daemon's pid (inside the member's namespace), undefined when it is not running. */
  get pid(): number | undefined {
    return this.daemon.running ? this.daemon.pid : undefined;
  }

  get running(): boolean {
    return this.daemon.running;
  }

  /** The real `lxc` from the root namespace, through the member's unix socket (own LXD_CONF). */
  lxc(args: readonly string[], opts?: LxcOptions): Promise<RunResult> {
    return this.daemon.lxc(args, opts);
  }

  /** The real `lxc` with the same LXD_CONF, run inside the member's namespace (reaches the other members' HTTPS). */
  lxcInNetns(args: readonly string[], opts: LxcOptions = {}): Promise<RunResult> {
    const { env, ...rest } = opts;
    return run('ip', ['netns', 'exec', this.netns, LXC_BIN, ...args], { ...rest, env: this.client.env(env) });
  }

  /**
   * `lxdts ARGS...` (`lxd ARGS...` in reference mode); `input` is fed on stdin (e.g. `init --preseed`). From the root
   * namespace unless `inNetns`: a verb that itself contacts other members over HTTPS (LXD's `init --preseed` join
   * checks the cluster certificate from the client side) must run inside the member's namespace.
   */
  cli(args: readonly string[], opts: { timeoutMs?: number; input?: string | Buffer; inNetns?: boolean } = {}): Promise<RunResult> {
    if (!opts.inNetns) return this.daemon.cli(args, opts.timeoutMs, opts.input);
    const c = daemonCommand();
    const runOpts: RunOptions = { env: this.daemon.env(), timeoutMs: opts.timeoutMs ?? 60_000 };
    if (opts.input !== undefined) runOpts.input = opts.input;
    return run('ip', ['netns', 'exec', this.netns, c.file, ...c.prefix, ...args], runOpts);
  }

  /** `cmd args...` inside the member's namespace. */
  exec(cmd: string, args: readonly string[] = [], opts?: RunOptions): Promise<RunResult> {
    return this.network.exec(this.index, cmd, args, opts);
  }

  /**
   * `lxc config set core.https_address <address>:8443`, then wait until the daemon answers GET /1.0 over HTTPS from
   * inside its namespace (curl). Returns the address.
   */
  async setHttpsAddress(): Promise<string> {
    const r = await this.lxc(['config', 'set', 'core.https_address', this.httpsAddress]);
    if (r.code !== 0) throw new Error(`setting core.https_address on ${this.name}: ${describeRun(r)}`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const c = await this.exec('curl', ['-ks', '--max-time', '3', `https://${this.httpsAddress}/1.0`], { timeoutMs: 10_000 });
      if (c.code === 0 && /"type":\s*"sync"/.test(c.stdout)) return this.httpsAddress;
      if (Date.now() > deadline) throw new Error(`${this.name} does not answer on https://${this.httpsAddress}/1.0: ${describeRun(c)}`);
      await sleep(100);
    }
  }

  /** Send a signal to the daemon by pid; for SIGKILL (the default) wait until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    process.kill(pid, signal);
    if (signal !== 'SIGKILL') return;
    const deadline = Date.now() + 10_000;
    while ((this.daemon.running || isAlive(pid)) && Date.now() < deadline) await sleep(20);
    if (isAlive(pid)) throw new Error(`${this.name}: daemon ${pid} still alive after SIGKILL`);
  }

  /** Stop the daemon if it runs, then start a new one on the same LXD_DIR in the same namespace. */
  async restart(): Promise<void> {
    await this.stop();
    await this.daemon.restart();
  }

  /** `lxdts shutdown` (bounded), then SIGKILL by pid if the daemon is still there. Keeps LXD_DIR. */
  async stop(timeoutSec = 10): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    await this.cli(['shutdown', `--timeout=${timeoutSec}`], { timeoutMs: (timeoutSec + 5) * 1000 });
    const deadline = Date.now() + 5_000;
    while ((this.daemon.running || isAlive(pid)) && Date.now() < deadline) await sleep(20);
    if (this.daemon.running || isAlive(pid)) await this.kill('SIGKILL');
  }

  /** Unplug the member from the private network (its daemon keeps running). */
  cut(): Promise<void> {
    return this.network.cut(this.index);
  }

  heal(): Promise<void> {
    return this.network.heal(this.index);
  }
}

export class TestCluster {
  private readonly memberList: ClusterMember[] = [];
  private disposed = false;

  private constructor(
    readonly network: TestNetwork,
    private readonly options: ClusterStartOptions,
  ) {}

  /** A private network with `n` members, one lxdts daemon in each (started in parallel), ready to use. */
  static async start(n: number, options: ClusterStartOptions = {}): Promise<TestCluster> {
    const network = await TestNetwork.create(0);
    const cluster = new TestCluster(network, options);
    try {
      const nets: NetMember[] = [];
      for (let i = 0; i < n; i++) nets.push(await network.addMember());
      // Daemons start in parallel; wait for all of them (even after a failure) so that dispose() sees every one.
      const results = await Promise.allSettled(nets.map((net) => cluster.startMember(net)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (err) {
      await cluster.dispose().catch(() => undefined);
      throw err;
    }
    return cluster;
  }

  get members(): readonly ClusterMember[] {
    return this.memberList;
  }

  /** Member `i` (1-based). */
  member(i: number): ClusterMember {
    const m = this.memberList.find((x) => x.index === i);
    if (!m) throw new Error(`no cluster member ${i}`);
    return m;
  }

  /** One more namespace and daemon (standalone, not joined: joining is the test's business). */
  async addMember(): Promise<ClusterMember> {
    return this.startMember(await this.network.addMember());
  }

  private async startMember(net: NetMember): Promise<ClusterMember> {
    const opts: DaemonStartOptions = { commandPrefix: this.network.commandPrefix(net.index) };
    if (this.options.daemonArgs) opts.args = this.options.daemonArgs;
    if (this.options.readyTimeout !== undefined) opts.readyTimeout = this.options.readyTimeout;
    const daemon = await TestDaemon.start(opts);
    const member = new ClusterMember(this.network, net, daemon);
    this.memberList.push(member);
    this.memberList.sort((a, b) => a.index - b.index);
    if (this.options.https) await member.setHttpsAddress();
    return member;
  }

  /**
   * Stop every daemon (bounded `lxdts shutdown`, then SIGKILL), delete the namespaces (killing anything left in
   * them) and remove every LXD_DIR and client configuration. Throws if something could not be removed.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await Promise.all(this.memberList.map((m) => m.stop().catch(() => m.kill('SIGKILL'))));
      await this.network.dispose();
    } finally {
      for (const m of this.memberList) await m.daemon.dispose();
    }
  }
}
