// Networks: host interfaces shown as unmanaged networks, managed bridges (rows here, the host's part — bridge,
// dnsmasq, NAT — made by the agent), interface state and DHCP leases.
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AgentBridgeNetworkSpec, Network, NetworkLease, NetworkPut, NetworkState, NetworksPost } from '@lxdts/api-types';
import type { AgentClient } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import { AGENT_CLIENT } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, notFound } from '../http/api-error.js';
import { bridgeSpec, subnetOf, validateBridgeConfig, validateMacvlanConfig, withBridgeDefaults } from './bridge-config.js';
import { NetworkAclsRepository } from './network-acls.repository.js';
import { bridgeAcls } from './network-acl-rules.js';
import { apiUrl } from '../projects/api-url.js';
import { HostInterfacesReader } from './host-interfaces.reader.js';
import { InterfaceStateReader } from './interface-state.reader.js';
import { type ManagedNetworkRow, type NicUsers, NetworksRepository } from './networks.repository.js';

/** Managed network types LXD 5.0.2 offers (networks.md); lxdts creates bridges. */
const MANAGED_TYPES = ['bridge', 'macvlan', 'sriov', 'ovn', 'physical'];

/** The agent calls managed networks make. */
export type NetworkAgent = Pick<AgentClient, 'ensureBridge' | 'deleteBridge' | 'bridgeLeases'>;

const STATUS: Readonly<Record<number, string>> = { 0: 'Pending', 1: 'Created', 2: 'Errored' };

/** Interface names as the kernel accepts them (IFNAMSIZ 16 incl. NUL). */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

@Injectable()
export class NetworksService {
  /** Network changes touch the host and the rows together; one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log = new Logger('Networks');

  constructor(
    private readonly repo: NetworksRepository,
    private readonly interfaces: HostInterfacesReader,
    private readonly states: InterfaceStateReader,
    private readonly events: EventsService,
    @Inject(AGENT_CLIENT) private readonly agent: NetworkAgent,
    private readonly acls: NetworkAclsRepository,
  ) {}

  /** The agent's spec of a network: its config and the ACLs `security.acls` names (in the network's project). */
  private async spec(project: string, name: string, config: Record<string, string>): Promise<AgentBridgeNetworkSpec> {
    const names = (config['security.acls'] ?? '').split(',').map((n) => n.trim()).filter(Boolean);
    if (names.length === 0) return bridgeSpec(name, config);
    const projectId = (await this.repo.projectId(project)) as number;
    const rows = await this.acls.list(projectId);
    for (const n of names) if (!rows.some((a) => a.name === n)) throw badRequest(`Invalid value for network "${name}" option "security.acls": ACL "${n}" not found`);
    return bridgeSpec(name, config, bridgeAcls(config, rows));
  }

  /** An ACL changed: every network using it gets its rules again. */
  async reapplyAcl(acl: string): Promise<void> {
    await this.serialized(async () => {
      for (const n of await this.repo.allManaged()) {
        if (!(n.config['security.acls'] ?? '').split(',').map((x) => x.trim()).includes(acl)) continue;
        await this.agent.ensureBridge(await this.spec(n.project, n.name, n.config)).catch(fromAgent);
      }
    });
  }

  /** Managed networks first, then the host's other interfaces (those only in the default project, as LXD). */
  async list(project: string): Promise<Network[]> {
    const effective = await this.effectiveProject(project);
    const managed = await this.repo.listManaged(effective);
    const out = await Promise.all(managed.map((m) => this.managedToApi(m)));
    if (effective === 'default') {
      const taken = new Set(managed.map((m) => m.name));
      for (const iface of this.interfaces.list()) if (!taken.has(iface.name)) out.push(await this.unmanaged(iface.name));
    }
    return out;
  }

  async get(name: string, project: string): Promise<Network> {
    const effective = await this.effectiveProject(project);
    const [managed] = await this.repo.listManaged(effective, name);
    if (managed) return this.managedToApi(managed);
    if (effective === 'default' && this.interfaces.exists(name)) return this.unmanaged(name);
    throw notFound('Network not found');
  }

  state(name: string): NetworkState {
    const state = this.states.read(name);
    if (!state) throw notFound(`Network interface "${name}" not found`);
    return state;
  }

  /** A managed bridge: checked, the host's part made by the agent, then the rows (taken back if they fail). */
  async create(req: NetworksPost, project: string, identity: Identity): Promise<string> {
    if (req.name === '') throw badRequest('No name provided');
    if (req.name.includes('/')) throw badRequest('Network names may not contain slashes');
    if (!INTERFACE_NAME.test(req.name)) throw badRequest(`Invalid network name "${req.name}"`);
    const type = req.type === '' ? 'bridge' : req.type;
    if (!MANAGED_TYPES.includes(type)) throw badRequest(`Unknown network type "${type}"`);
    if (type !== 'bridge' && type !== 'macvlan') throw badRequest(`Network type "${type}" is not supported yet (supported: bridge, macvlan)`);
    const effective = await this.effectiveProject(project);
    const projectId = (await this.repo.projectId(effective)) as number;
    for (const key of Object.keys(req.config)) if (key.startsWith('volatile.')) throw badRequest(`Invalid option for network "${req.name}" option "${key}"`);
    if (type === 'macvlan') {
      // Nothing on the host until a NIC uses it: a macvlan of `parent` per NIC.
      validateMacvlanConfig(req.name, req.config, (n) => this.interfaces.exists(n));
      return this.serialized(async () => {
        if ((await this.repo.listManaged(effective, req.name)).length > 0) throw conflict('The network already exists');
        await this.repo.create(projectId, { name: req.name, description: req.description, type, config: req.config });
        const url = apiUrl(['networks', req.name], effective);
        this.events.lifecycle('network-created', url, effective, identity);
        return url;
      });
    }
    validateBridgeConfig(req.name, req.config);
    return this.serialized(async () => {
      if ((await this.repo.listManaged(effective, req.name)).length > 0) throw conflict('The network already exists');
      if (this.interfaces.exists(req.name)) throw badRequest(`Network interface "${req.name}" already exists on the host`);
      const config = withBridgeDefaults(req.name, req.config, await this.takenSubnets(null));
      await this.checkOverlap(req.name, config, null);
      await this.agent.ensureBridge(await this.spec(effective, req.name, config)).catch(fromAgent);
      try {
        await this.repo.create(projectId, { name: req.name, description: req.description, type, config });
      } catch (err) {
        await this.agent.deleteBridge(req.name).catch(() => undefined);
        throw err;
      }
      const url = apiUrl(['networks', req.name], effective);
      this.events.lifecycle('network-created', url, effective, identity);
      return url;
    });
  }

  /** PUT (`replace`) / PATCH (`merge`): the host's part changed first, then the rows. */
  async update(name: string, project: string, put: NetworkPut, mode: 'replace' | 'merge', hasDescription: boolean, identity: Identity): Promise<void> {
    const effective = await this.effectiveProject(project);
    await this.serialized(async () => {
      const current = await this.managed(effective, name);
      const next = mode === 'replace' ? { ...put.config } : { ...current.config, ...put.config };
      for (const [k, v] of Object.entries(next)) if (v === '') delete next[k];
      if (current.type === 'macvlan') {
        validateMacvlanConfig(name, next, (n) => this.interfaces.exists(n));
        await this.repo.update(current.id, mode === 'replace' || hasDescription ? put.description : current.description, next);
        return;
      }
      validateBridgeConfig(name, next);
      // An address removed by a PUT is not "auto": the network keeps none.
      if (next['ipv4.address'] === undefined) next['ipv4.address'] = 'none';
      if (next['ipv4.address'] === 'auto') throw badRequest(`Invalid value for network "${name}" option "ipv4.address": "auto" only when creating`);
      if (next['ipv6.address'] === undefined) next['ipv6.address'] = 'none';
      await this.checkOverlap(name, next, current.id);
      await this.agent.ensureBridge(await this.spec(effective, name, next)).catch(fromAgent);
      await this.repo.update(current.id, mode === 'replace' || hasDescription ? put.description : current.description, next);
    });
    this.events.lifecycle('network-updated', apiUrl(['networks', name], effective), effective, identity);
  }

  async delete(name: string, project: string, identity: Identity): Promise<void> {
    const effective = await this.effectiveProject(project);
    await this.serialized(async () => {
      const current = await this.managed(effective, name);
      const users = await this.repo.nicUsers('network', name);
      if (users.instances.length || users.profiles.length) throw badRequest('The network is currently in use');
      if (current.type === 'bridge') await this.agent.deleteBridge(name).catch(fromAgent);
      await this.repo.delete(current.id);
    });
    this.events.lifecycle('network-deleted', apiUrl(['networks', name], effective), effective, identity);
  }

  /** POST /1.0/networks/<name>: renaming is not implemented. */
  async rename(name: string, project: string): Promise<never> {
    await this.managed(await this.effectiveProject(project), name);
    throw badRequest('Renaming managed networks is not supported yet');
  }

  /** GET …/leases: the gateway, then dnsmasq's leases, named after the instance a MAC address belongs to. */
  async leases(name: string, project: string): Promise<NetworkLease[]> {
    const current = await this.managed(await this.effectiveProject(project), name);
    if (current.type !== 'bridge') throw badRequest(`Network "${name}" of type "${current.type}" has no leases`);
    const out: NetworkLease[] = [];
    const gateway = (current.config['ipv4.address'] ?? 'none').split('/')[0] as string;
    if (gateway !== 'none' && gateway !== '') out.push({ hostname: `${name}.gw`, hwaddr: '', address: gateway, type: 'gateway', location: 'none' });
    const macs = await this.repo.instanceMacs();
    for (const l of await this.agent.bridgeLeases(name).catch(fromAgent)) {
      const owner = macs.get(l.hwaddr.toLowerCase());
      out.push({ hostname: owner?.name ?? l.hostname, hwaddr: l.hwaddr, address: l.address, type: 'dynamic', location: 'none' });
    }
    return out;
  }

  /** At daemon start: every managed bridge's host part set up again (after a reboot, or a changed agent). */
  async ensureAll(): Promise<void> {
    for (const n of await this.repo.allManaged()) {
      if (n.type !== 'bridge') continue;
      await this.spec(n.project, n.name, n.config)
        .then((spec) => this.agent.ensureBridge(spec))
        .catch((err: Error) => this.log.warn(`Could not set up network "${n.name}": ${err.message}`));
    }
  }

  private async managed(project: string, name: string) {
    const [managed] = await this.repo.listManaged(project, name);
    if (!managed) {
      if (project === 'default' && this.interfaces.exists(name)) throw badRequest(`Network "${name}" is not managed by lxdts`);
      throw notFound('Network not found');
    }
    return managed;
  }

  /** IPv4 subnets in use: other managed networks' and the host's interfaces' (read, never probed). */
  private async takenSubnets(exceptId: number | null): Promise<{ first: number; last: number; owner: string }[]> {
    const out: { first: number; last: number; owner: string }[] = [];
    for (const n of await this.repo.allManaged()) {
      if (n.id === exceptId) continue;
      const s = subnetOf(n.config['ipv4.address'] ?? '');
      if (s) out.push({ first: s.first, last: s.last, owner: `network "${n.name}"` });
    }
    for (const iface of this.interfaces.list()) {
      for (const a of this.states.read(iface.name)?.addresses ?? []) {
        if (a.family !== 'inet' || a.scope !== 'global') continue;
        const s = subnetOf(`${a.address}/${a.netmask}`);
        if (s) out.push({ first: s.first, last: s.last, owner: `interface "${iface.name}"` });
      }
    }
    return out;
  }

  private async checkOverlap(name: string, config: Record<string, string>, selfId: number | null): Promise<void> {
    const mine = subnetOf(config['ipv4.address'] ?? '');
    if (!mine) return;
    for (const t of await this.takenSubnets(selfId)) {
      if (t.owner === `interface "${name}"`) continue;
      if (mine.first <= t.last && mine.last >= t.first) {
        throw badRequest(`Invalid value for network "${name}" option "ipv4.address": subnet ${config['ipv4.address']} overlaps with ${t.owner}`);
      }
    }
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async effectiveProject(project: string): Promise<string> {
    const effective = await this.repo.networksProject(project);
    if (effective === undefined) throw notFound('Project not found');
    return effective;
  }

  private async managedToApi(row: ManagedNetworkRow): Promise<Network> {
    return {
      config: row.config,
      description: row.description,
      name: row.name,
      type: row.type,
      used_by: usedBy(await this.repo.nicUsers('network', row.name)),
      managed: true,
      status: STATUS[row.state] ?? 'Unknown',
      locations: ['none'],
    };
  }

  /** Unmanaged: LXD shows `used_by: []` for the loopback and null for others nothing uses. */
  private async unmanaged(name: string): Promise<Network> {
    const type = this.interfaces.type(name);
    let used: string[] | null = type === 'loopback' ? [] : usedBy(await this.repo.nicUsers('parent', name));
    if (used !== null && used.length === 0 && type !== 'loopback') used = null;
    return { config: {}, description: '', name, type, used_by: used, managed: false, status: '', locations: null };
  }
}

/** Profiles first, then instances (the order LXD 5.0.2 returns, wire transcript 15). */
function usedBy(users: NicUsers): string[] {
  return [
    ...users.profiles.map((p) => apiUrl(['profiles', p.name], p.project)),
    ...users.instances.map((i) => apiUrl(['instances', i.name], i.project)),
  ];
}

/** The agent's refusals are 400s with its message; anything else goes on as it is (a 500). */
function fromAgent(err: unknown): never {
  const e = err as { code?: string; message?: string };
  if (e.code === 'bad_request' || e.code === 'conflict') throw badRequest(e.message ?? 'Bad request');
  throw err;
}
