import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AgentInstanceSpec } from '@lxdts/api-types';
import { AgentError } from '../errors.js';
import { type DeviceHost, type PathKind, resolveDevices } from './devices.js';
import { type HostFacts, type LxcConfigInput, buildLxcConfig, fstabEscape } from './lxc-config.builder.js';
import { DEFAULT_SECCOMP_DENY, seccompPolicy } from './seccomp-policy.js';

const HOST: HostFacts = {
  cgroupLayout: 'v1',
  onlineCpus: [0, 1, 2, 3],
  memoryTotal: 8 * 2 ** 30,
  memswAvailable: true,
  bindMounts: [
    { path: '/dev/fuse', isDir: false },
    { path: '/dev/mqueue', isDir: true },
    { path: '/sys/kernel/debug', isDir: true },
  ],
};

const FILES = { logFile: '/var/lib/lxdts/logs/c1/lxc.log', consoleLogFile: '/var/lib/lxdts/logs/c1/console.log', seccompProfile: '/var/lib/lxdts/security/seccomp/c1' };

function spec(over: Partial<AgentInstanceSpec> = {}): AgentInstanceSpec {
  return {
    name: 'c1',
    project: 'default',
    lxcName: 'c1',
    rootfsPath: '/pool/containers/c1/rootfs',
    architecture: 'x86_64',
    config: {},
    devices: { root: { type: 'disk', path: '/', pool: 'default' } },
    idmap: { uidBase: 1000000, gidBase: 1000000, size: 65536 },
    ...over,
  };
}

/** A fake host: fixed random bytes, a few paths and one bridge. */
function fakeHost(paths: Record<string, PathKind> = {}, links = ['lxdbr0', 'eno1']): DeviceHost {
  let n = 0;
  return {
    pathKind: (p) => paths[p] ?? 'missing',
    interfaceExists: (name) => links.includes(name),
    randomBytes: (len) => Buffer.from(Array.from({ length: len }, () => (n++ * 17 + 0xa0) & 0xff)),
  };
}

function build(s: AgentInstanceSpec, host: HostFacts = HOST, dev: DeviceHost = fakeHost()) {
  const input: LxcConfigInput = { spec: s, devices: resolveDevices(s, dev), host, files: FILES, logLevel: 'warn' };
  const out = buildLxcConfig(input);
  const lines = out.text.split('\n').filter((l) => l && !l.startsWith('#'));
  const values = (key: string) => lines.filter((l) => l.startsWith(`${key} = `)).map((l) => l.slice(key.length + 3));
  const value = (key: string) => {
    const v = values(key);
    assert.ok(v.length <= 1, `${key} appears ${v.length} times`);
    return v[0];
  };
  return { out, lines, values, value, volatile: input.devices.volatile };
}

const rejects400 = (fn: () => unknown, message?: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof AgentError && e.status === 400 && (!message || message.test(e.message)));

describe('unprivileged container (the default)', () => {
  const { value, values, lines, out } = build(spec());

  test('rootfs is an idmapped mount of the root-owned directory', () => {
    assert.equal(value('lxc.rootfs.path'), 'dir:/pool/containers/c1/rootfs');
    assert.equal(value('lxc.rootfs.options'), 'idmap=container');
    assert.deepEqual(values('lxc.idmap'), ['u 0 1000000 65536', 'g 0 1000000 65536']);
  });
  test('identity, logs, console, ttys', () => {
    assert.equal(value('lxc.uts.name'), 'c1');
    assert.equal(value('lxc.arch'), 'linux64');
    assert.equal(value('lxc.log.file'), FILES.logFile);
    assert.equal(value('lxc.log.level'), 'warn');
    assert.equal(value('lxc.console.logfile'), FILES.consoleLogFile);
    assert.equal(value('lxc.tty.max'), '0');
    assert.equal(value('lxc.pty.max'), '1024');
  });
  test('mounts as LXD: proc/sys rw in a user namespace, cgroup mixed on v1, autodev', () => {
    assert.equal(value('lxc.mount.auto'), 'proc:rw sys:rw cgroup:mixed');
    assert.equal(value('lxc.autodev'), '1');
    assert.deepEqual(values('lxc.mount.entry'), [
      '/dev/fuse dev/fuse none bind,create=file,optional 0 0',
      '/dev/mqueue dev/mqueue none rbind,create=dir,optional 0 0',
      '/sys/kernel/debug sys/kernel/debug none rbind,create=dir,optional 0 0',
    ]);
  });
  test('no AppArmor, the default seccomp deny list, no capability drops (the user namespace bounds them)', () => {
    assert.equal(value('lxc.apparmor.profile'), 'unconfined');
    assert.equal(value('lxc.seccomp.profile'), FILES.seccompProfile);
    assert.equal(out.seccompPolicy, `2\ndenylist\n${DEFAULT_SECCOMP_DENY}`);
    assert.equal(value('lxc.cap.drop'), undefined);
    assert.equal(values('lxc.cgroup.devices.deny').length, 0);
  });
  test('no NIC: a network namespace with only the loopback, up', () => {
    assert.equal(value('lxc.net.0.type'), 'empty');
    assert.equal(value('lxc.net.0.flags'), 'up');
  });
  test('no limits and no hooks unless asked', () => {
    assert.ok(!lines.some((l) => l.startsWith('lxc.cgroup')));
    assert.ok(!lines.some((l) => l.startsWith('lxc.hook')));
    assert.ok(!lines.some((l) => l.startsWith('lxc.environment')));
  });
});

describe('privileged container (idmap null)', () => {
  const { value, values } = build(spec({ idmap: null, config: { 'security.privileged': 'true' } }));
  test('no user namespace, LXD capability drops, mixed proc/sys, devices cgroup allow list, own mqueue', () => {
    assert.equal(value('lxc.rootfs.options'), undefined);
    assert.deepEqual(values('lxc.idmap'), []);
    assert.equal(value('lxc.cap.drop'), 'sys_time sys_module sys_rawio mac_admin mac_override');
    assert.equal(value('lxc.mount.auto'), 'proc:mixed sys:mixed cgroup:mixed');
    assert.deepEqual(values('lxc.cgroup.devices.deny'), ['a']);
    assert.ok(values('lxc.cgroup.devices.allow').includes('c 1:3 rwm'));
    assert.equal(values('lxc.cgroup.devices.allow').length, 13);
    const entries = values('lxc.mount.entry');
    assert.ok(entries.includes('mqueue dev/mqueue mqueue rw,relatime,create=dir,optional 0 0'));
    assert.ok(!entries.some((e) => e.startsWith('/dev/mqueue ')));
  });
});

test('security.nesting adds spare proc and sysfs mounts', () => {
  const { values } = build(spec({ config: { 'security.nesting': 'true' } }));
  assert.ok(values('lxc.mount.entry').includes('proc dev/.lxc/proc proc create=dir,optional 0 0'));
  assert.ok(values('lxc.mount.entry').includes('sys dev/.lxc/sys sysfs create=dir,optional 0 0'));
});

test('32-bit architectures run with the linux32 personality', () => {
  assert.equal(build(spec({ architecture: 'i686' })).value('lxc.arch'), 'linux32');
  assert.equal(build(spec({ architecture: 'aarch64' })).value('lxc.arch'), 'linux64');
});

test('environment.* becomes lxc.environment, sorted', () => {
  const { values } = build(spec({ config: { 'environment.ZED': 'z', 'environment.FOO': 'bar baz', 'user.x': 'y' } }));
  assert.deepEqual(values('lxc.environment'), ['FOO=bar baz', 'ZED=z']);
});

describe('limits (cgroup v1)', () => {
  test('memory: hard limit, 90% soft limit, no swap when limits.memory.swap=false', () => {
    const { value } = build(spec({ config: { 'limits.memory': '64MiB', 'limits.memory.swap': 'false' } }));
    assert.equal(value('lxc.cgroup.memory.limit_in_bytes'), '67108864');
    assert.equal(value('lxc.cgroup.memory.soft_limit_in_bytes'), String(Math.floor(67108864 * 0.9)));
    assert.equal(value('lxc.cgroup.memory.memsw.limit_in_bytes'), '67108864');
    assert.equal(value('lxc.cgroup.memory.swappiness'), '0');
  });
  test('memory: swap allowed by default, memsw untouched; no memsw on hosts without swap accounting', () => {
    assert.equal(build(spec({ config: { 'limits.memory': '1GB' } })).value('lxc.cgroup.memory.memsw.limit_in_bytes'), undefined);
    const noMemsw = build(spec({ config: { 'limits.memory': '1GB', 'limits.memory.swap': 'false' } }), { ...HOST, memswAvailable: false });
    assert.equal(noMemsw.value('lxc.cgroup.memory.memsw.limit_in_bytes'), undefined);
    assert.equal(noMemsw.value('lxc.cgroup.memory.limit_in_bytes'), '1000000000');
  });
  test('memory: percentage of host memory, soft enforcement, swap priority', () => {
    assert.equal(build(spec({ config: { 'limits.memory': '50%' } })).value('lxc.cgroup.memory.limit_in_bytes'), String(Math.floor(HOST.memoryTotal / 100) * 50));
    const soft = build(spec({ config: { 'limits.memory': '128MB', 'limits.memory.enforce': 'soft' } }));
    assert.equal(soft.value('lxc.cgroup.memory.limit_in_bytes'), undefined);
    assert.equal(soft.value('lxc.cgroup.memory.soft_limit_in_bytes'), '128000000');
    assert.equal(build(spec({ config: { 'limits.memory.swap.priority': '4' } })).value('lxc.cgroup.memory.swappiness'), '66');
    rejects400(() => build(spec({ config: { 'limits.memory': '1GB', 'limits.memory.enforce': 'maybe' } })));
    rejects400(() => build(spec({ config: { 'limits.memory': '1gb' } })), /limits.memory/);
  });
  test('cpu: count pins the first CPUs, a range/list pins those', () => {
    assert.equal(build(spec({ config: { 'limits.cpu': '2' } })).value('lxc.cgroup.cpuset.cpus'), '0-1');
    assert.equal(build(spec({ config: { 'limits.cpu': '1,3' } })).value('lxc.cgroup.cpuset.cpus'), '1,3');
    assert.equal(build(spec({ config: { 'limits.cpu': '2-3' } })).value('lxc.cgroup.cpuset.cpus'), '2-3');
    rejects400(() => build(spec({ config: { 'limits.cpu': '7-8' } })));
  });
  test('cpu allowance: percentage → cpu.shares, time slice → CFS quota/period; priority', () => {
    const pct = build(spec({ config: { 'limits.cpu.allowance': '50%' } }));
    assert.equal(pct.value('lxc.cgroup.cpu.shares'), '512');
    assert.equal(pct.value('lxc.cgroup.cpu.cfs_quota_us'), undefined);
    const slice = build(spec({ config: { 'limits.cpu.allowance': '25ms/100ms' } }));
    assert.equal(slice.value('lxc.cgroup.cpu.cfs_quota_us'), '25000');
    assert.equal(slice.value('lxc.cgroup.cpu.cfs_period_us'), '100000');
    assert.equal(slice.value('lxc.cgroup.cpu.shares'), undefined);
    assert.equal(build(spec({ config: { 'limits.cpu.priority': '0' } })).value('lxc.cgroup.cpu.shares'), '1014');
  });
  test('processes and kernel limits and sysctls', () => {
    const { value } = build(spec({ config: { 'limits.processes': '50', 'limits.kernel.nofile': '1000:2000', 'linux.sysctl.net.ipv4.ip_forward': '1' } }));
    assert.equal(value('lxc.cgroup.pids.max'), '50');
    assert.equal(value('lxc.prlimit.nofile'), '1000:2000');
    assert.equal(value('lxc.sysctl.net.ipv4.ip_forward'), '1');
    rejects400(() => build(spec({ config: { 'limits.kernel.nofile': 'lots' } })));
    rejects400(() => build(spec({ config: { 'limits.processes': '-1' } })));
  });
});

test('limits on cgroup v2 use lxc.cgroup2 keys', () => {
  const { value } = build(
    spec({ config: { 'limits.memory': '64MiB', 'limits.memory.swap': 'false', 'limits.cpu': '1', 'limits.cpu.allowance': '50ms/100ms', 'limits.processes': '10' } }),
    { ...HOST, cgroupLayout: 'v2', memswAvailable: false },
  );
  assert.equal(value('lxc.cgroup2.memory.max'), '67108864');
  assert.equal(value('lxc.cgroup2.memory.swap.max'), '0');
  assert.equal(value('lxc.cgroup2.cpuset.cpus'), '0');
  assert.equal(value('lxc.cgroup2.cpu.max'), '50000 100000');
  assert.equal(value('lxc.cgroup2.pids.max'), '10');
  assert.equal(value('lxc.mount.auto'), 'proc:rw sys:rw cgroup:rw:force');
});

describe('NIC devices', () => {
  test('bridged: veth into the parent bridge with the given name, MAC, MTU and host name', () => {
    const { value, volatile } = build(
      spec({ devices: { eth0: { type: 'nic', nictype: 'bridged', parent: 'lxdbr0', name: 'eth0', hwaddr: '00:16:3e:aa:bb:cc', mtu: '1400', host_name: 'vethfixed' } } }),
    );
    assert.equal(value('lxc.net.0.type'), 'veth');
    assert.equal(value('lxc.net.0.link'), 'lxdbr0');
    assert.equal(value('lxc.net.0.name'), 'eth0');
    assert.equal(value('lxc.net.0.hwaddr'), '00:16:3e:aa:bb:cc');
    assert.equal(value('lxc.net.0.mtu'), '1400');
    assert.equal(value('lxc.net.0.veth.pair'), 'vethfixed');
    assert.equal(value('lxc.net.0.flags'), 'up');
    assert.deepEqual(volatile, { 'volatile.eth0.host_name': 'vethfixed' });
  });
  test('missing name and MAC are generated (ethN, 00:16:3e:…) and reported as volatile keys', () => {
    const { value, volatile } = build(spec({ devices: { a: { type: 'nic', nictype: 'p2p' }, b: { type: 'nic', network: 'lxdbr0', name: 'eth0' } } }));
    assert.equal(value('lxc.net.0.name'), 'eth1'); // eth0 is taken by device b
    assert.equal(value('lxc.net.0.link'), undefined); // p2p: no bridge
    assert.match(value('lxc.net.0.hwaddr') ?? '', /^00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    assert.match(value('lxc.net.0.veth.pair') ?? '', /^veth[0-9a-f]{8}$/);
    assert.equal(value('lxc.net.1.link'), 'lxdbr0'); // network=<bridge> without nictype
    assert.equal(volatile['volatile.a.name'], 'eth1');
    assert.equal(volatile['volatile.a.hwaddr'], value('lxc.net.0.hwaddr'));
    assert.equal(volatile['volatile.a.host_name'], value('lxc.net.0.veth.pair'));
    assert.equal(volatile['volatile.b.name'], undefined);
  });
  test('remembered volatile MAC and name are reused', () => {
    const { value, volatile } = build(
      spec({ config: { 'volatile.eth0.hwaddr': '00:16:3e:01:02:03', 'volatile.eth0.name': 'eth0' }, devices: { eth0: { type: 'nic', nictype: 'bridged', parent: 'lxdbr0' } } }),
    );
    assert.equal(value('lxc.net.0.hwaddr'), '00:16:3e:01:02:03');
    assert.equal(volatile['volatile.eth0.hwaddr'], undefined);
    assert.equal(volatile['volatile.eth0.name'], undefined);
  });
  test('macvlan and physical', () => {
    const { value } = build(spec({ devices: { m: { type: 'nic', nictype: 'macvlan', parent: 'eno1', name: 'm0' }, p: { type: 'nic', nictype: 'physical', parent: 'eno1', name: 'p0' } } }));
    assert.equal(value('lxc.net.0.type'), 'macvlan');
    assert.equal(value('lxc.net.0.macvlan.mode'), 'bridge');
    assert.equal(value('lxc.net.0.veth.pair'), undefined);
    assert.equal(value('lxc.net.1.type'), 'phys');
    assert.equal(value('lxc.net.1.link'), 'eno1');
  });
  test('errors: missing parent, unknown bridge, bad values, unsupported nictype', () => {
    rejects400(() => build(spec({ devices: { e: { type: 'nic', nictype: 'bridged' } } })), /missing parent/);
    rejects400(() => build(spec({ devices: { e: { type: 'nic', nictype: 'bridged', parent: 'nobr' } } })), /Failed to start device "e": Parent device "nobr" doesn't exist/);
    rejects400(() => build(spec({ devices: { e: { type: 'nic', nictype: 'bridged', parent: 'lxdbr0', hwaddr: 'zz' } } })), /hwaddr/);
    rejects400(() => build(spec({ devices: { e: { type: 'nic', nictype: 'p2p', mtu: '10' } } })), /mtu/);
    rejects400(() => build(spec({ devices: { e: { type: 'nic', nictype: 'p2p', name: 'a/b' } } })), /name/);
    rejects400(() => build(spec({ devices: { e: { type: 'nic', nictype: 'sriov', parent: 'eno1' } } })), /Unsupported nictype/);
    rejects400(() => build(spec({ devices: { e: { type: 'nic' } } })), /missing nictype/);
  });
});

describe('disk devices', () => {
  const paths: Record<string, PathKind> = { '/srv/data': 'dir', '/etc/hosts': 'file', '/srv/with space': 'dir', '/dev/sda': 'block' };
  test('host directory and file bind mounts; root disk ignored; readonly, recursive, propagation, shift', () => {
    const { values } = build(
      spec({
        devices: {
          root: { type: 'disk', path: '/', pool: 'default' },
          data: { type: 'disk', source: '/srv/data', path: '/mnt/data', readonly: 'true' },
          deep: { type: 'disk', source: '/srv/data', path: '/mnt/data/sub', recursive: 'true', propagation: 'rslave' },
          hosts: { type: 'disk', source: '/etc/hosts', path: '/etc/hosts.host', shift: 'true' },
          sp: { type: 'disk', source: '/srv/with space', path: '/mnt/a b' },
        },
      }),
      HOST,
      fakeHost(paths),
    );
    const disks = values('lxc.mount.entry').filter((e) => e.startsWith('/srv') || e.startsWith('/etc'));
    assert.deepEqual(disks, [
      '/etc/hosts etc/hosts.host none bind,create=file,idmap=container 0 0',
      '/srv/with\\040space mnt/a\\040b none bind,create=dir 0 0',
      '/srv/data mnt/data none bind,create=dir,ro 0 0',
      '/srv/data mnt/data/sub none rbind,create=dir,rslave 0 0',
    ]);
  });
  test('missing source: error unless required=false', () => {
    rejects400(() => build(spec({ devices: { d: { type: 'disk', source: '/nope', path: '/mnt' } } })), /Missing source path/);
    const { values } = build(spec({ devices: { d: { type: 'disk', source: '/nope', path: '/mnt', required: 'false' } } }));
    assert.ok(!values('lxc.mount.entry').some((e) => e.startsWith('/nope')));
  });
  test('refused: relative or pool sources, block devices, relative paths, .., shift when privileged', () => {
    const h = fakeHost(paths);
    rejects400(() => build(spec({ devices: { d: { type: 'disk', source: 'vol1', pool: 'p', path: '/mnt' } } }), HOST, h), /resolved/);
    rejects400(() => build(spec({ devices: { d: { type: 'disk', source: '/dev/sda', path: '/mnt' } } }), HOST, h), /block/);
    rejects400(() => build(spec({ devices: { d: { type: 'disk', source: '/srv/data', path: 'mnt' } } }), HOST, h), /absolute/);
    rejects400(() => build(spec({ devices: { d: { type: 'disk', source: '/srv/data', path: '/mnt/../etc' } } }), HOST, h), /invalid disk path/);
    rejects400(() => build(spec({ idmap: null, devices: { d: { type: 'disk', source: '/srv/data', path: '/m', shift: 'true' } } }), HOST, h), /shift/);
  });
});

test('device type none is ignored, unknown types are refused', () => {
  build(spec({ devices: { eth0: { type: 'none' } } }));
  rejects400(() => build(spec({ devices: { g: { type: 'gpu' } } })), /Unsupported device type "gpu"/);
});

test('values that would break out of their line are refused', () => {
  rejects400(() => build(spec({ config: { 'environment.X': 'a\nlxc.hook.pre-start = /bin/evil' } })), /line break/);
  rejects400(() => build(spec({ name: 'c1\rx' })), /line break/);
  rejects400(() => build(spec({ config: { 'environment.A=B': 'x' } })), /environment variable name/);
});

test('raw.lxc is appended last, verbatim', () => {
  const { lines } = build(spec({ config: { 'raw.lxc': 'lxc.signal.halt = SIGUSR1\nlxc.init.cmd = /bin/sh' } }));
  assert.deepEqual(lines.slice(-2), ['lxc.signal.halt = SIGUSR1', 'lxc.init.cmd = /bin/sh']);
});

test('fstabEscape', () => {
  assert.equal(fstabEscape('/a b\tc\\d'), '/a\\040b\\011c\\134d');
});

describe('seccomp policy (LXD seccomp.go)', () => {
  test('default: deny list of module loading, kexec and open_by_handle_at', () => {
    const p = seccompPolicy({}, 'x86_64') ?? '';
    assert.match(p, /^2\ndenylist\nreject_force_umount/);
    for (const s of ['kexec_load', 'open_by_handle_at', 'init_module', 'finit_module', 'delete_module']) {
      assert.match(p, new RegExp(`^${s} errno 38$`, 'm'));
    }
  });
  test('no default and nothing else: no policy at all', () => {
    assert.equal(seccompPolicy({ 'security.syscalls.deny_default': 'false' }, 'x86_64'), null);
    assert.equal(build(spec({ config: { 'security.syscalls.deny_default': 'false' } })).value('lxc.seccomp.profile'), undefined);
  });
  test('extra denies, compat block, allow list, raw.seccomp, legacy key names', () => {
    assert.match(seccompPolicy({ 'security.syscalls.deny': 'mount' }, 'x86_64') ?? '', /delete_module errno 38\n\[all\]\nmount\n$/);
    assert.match(seccompPolicy({ 'security.syscalls.deny_compat': 'true' }, 'x86_64') ?? '', /\[x86_64\]\ncompat_sys_rt_sigaction errno 38\n/);
    assert.equal(seccompPolicy({ 'security.syscalls.allow': 'read\nwrite' }, 'x86_64'), '2\nallowlist\n[all]\nread\nwrite\n');
    assert.equal(seccompPolicy({ 'raw.seccomp': '2\ndenylist\nmount' }, 'x86_64'), '2\ndenylist\nmount\n');
    assert.match(seccompPolicy({ 'security.syscalls.blacklist': 'umount2' }, 'x86_64') ?? '', /umount2\n$/);
    assert.equal(seccompPolicy({ 'security.syscalls.blacklist_default': 'false' }, 'x86_64'), null);
  });
});
