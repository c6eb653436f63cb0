// GET /1.0: the server's self-description. The static part (kernel, OS, certificate) is computed once.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, release, machine } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { Server, ServerEnvironment, ServerUntrusted } from '@lxdts/api-types';
import { CLUSTER_RUNTIME, DAEMON_PATHS } from '../daemon/tokens.js';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { certificateFingerprint } from '../tls/server-certificate.js';
import { API_EXTENSIONS } from './api-extensions.js';
import { ServerConfigService } from './server-config.service.js';

export const SERVER_VERSION = '5.0.2';

/** What Debian's liblxc 5.0.2 supports on this kernel (the same set LXD 5.0.2 reports here). */
const LXC_FEATURES: Record<string, string> = Object.fromEntries(
  [
    'cgroup2', 'core_scheduling', 'devpts_fd', 'idmapped_mounts_v2', 'mount_injection_file',
    'network_gateway_device_route', 'network_ipvlan', 'network_l2proxy', 'network_phys_macvlan_mtu',
    'network_veth_router', 'pidfd', 'seccomp_allow_deny_syntax', 'seccomp_notify', 'seccomp_proxy_send_notify_fd',
  ].map((f) => [f, 'true']),
);

@Injectable()
export class ServerInfoService {
  private readonly staticEnv: Omit<ServerEnvironment, 'addresses' | 'project'>;
  readonly untrusted: ServerUntrusted = {
    api_extensions: [...API_EXTENSIONS],
    api_status: 'stable',
    api_version: '1.0',
    auth: 'untrusted',
    public: false,
    auth_methods: ['tls'],
  };

  constructor(
    @Inject(DAEMON_PATHS) paths: DaemonPaths,
    private readonly config: ServerConfigService,
    @Inject(CLUSTER_RUNTIME) private readonly cluster: ClusterRuntime,
  ) {
    const cert = readFileSync(paths.serverCert, 'utf8');
    const os = readOsRelease();
    this.staticEnv = {
      architectures: architectures(),
      certificate: cert,
      certificate_fingerprint: certificateFingerprint(cert),
      driver: 'lxc',
      driver_version: '5.0.2',
      firewall: 'nftables',
      kernel: 'Linux',
      kernel_architecture: machine(),
      kernel_features: {
        idmapped_mounts: 'true',
        netnsid_getifaddrs: 'true',
        seccomp_listener: 'true',
        seccomp_listener_continue: 'true',
        shiftfs: 'false',
        uevent_injection: 'true',
        unpriv_fscaps: 'true',
      },
      kernel_version: release(),
      lxc_features: LXC_FEATURES,
      os_name: os['NAME'] ?? 'Linux',
      os_version: os['VERSION_ID'] ?? '',
      server: 'lxd',
      server_clustered: false,
      server_event_mode: 'full-mesh',
      server_name: hostname(),
      server_pid: process.pid,
      server_version: SERVER_VERSION,
      storage: '',
      storage_version: '',
      storage_supported_drivers: [
        { Name: 'btrfs', Version: this.btrfsVersion(), Remote: false },
        { Name: 'dir', Version: '1', Remote: false },
      ],
    };
  }

  async trusted(project: string): Promise<Server> {
    const config = await this.config.visible();
    const https = config['core.https_address'];
    return {
      config,
      ...this.untrusted,
      auth: 'trusted',
      environment: { ...this.staticEnv, ...this.clusterEnv(), addresses: https ? [https] : [], project },
    };
  }

  /** Clustered, the member presents the cluster certificate and its member name, as LXD. */
  private clusterEnv(): Partial<ServerEnvironment> {
    const { member, tls } = this.cluster;
    if (!member.clustered || !tls) return {};
    return { server_clustered: true, server_name: member.name, certificate: tls.cert, certificate_fingerprint: tls.fingerprint };
  }

  /** btrfs-progs' version as LXD reports it ("6.2"); empty when the tools are missing. */
  private btrfsVersion(): string {
    try {
      const out = execFileSync('btrfs', ['--version'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] });
      return /v(\d+(\.\d+)*)/.exec(out)?.[1] ?? '';
    } catch {
      return '';
    }
  }
}

function readOsRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    }
    return out;
  } catch {
    return {};
  }
}

function architectures(): string[] {
  const arch = machine();
  return arch === 'x86_64' ? ['x86_64', 'i686'] : [arch];
}
