// Networks: host interfaces shown as unmanaged networks, managed networks from the database (read-only until the
// managed bridge work lands), and interface state.
import { Injectable } from '@nestjs/common';
import type { Network, NetworkState, NetworksPost } from '@lxdts/api-types';
import { badRequest, conflict, notFound } from '../http/api-error.js';
import { apiUrl } from '../projects/api-url.js';
import { HostInterfacesReader } from './host-interfaces.reader.js';
import { InterfaceStateReader } from './interface-state.reader.js';
import { type ManagedNetworkRow, type NicUsers, NetworksRepository } from './networks.repository.js';

/** Managed network types LXD 5.0.2 offers (networks.md); none can be created by lxdts yet. */
const MANAGED_TYPES = ['bridge', 'macvlan', 'sriov', 'ovn', 'physical'];

const STATUS: Readonly<Record<number, string>> = { 0: 'Pending', 1: 'Created', 2: 'Errored' };

/** Interface names as the kernel accepts them (IFNAMSIZ 16 incl. NUL). */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

@Injectable()
export class NetworksService {
  constructor(
    private readonly repo: NetworksRepository,
    private readonly interfaces: HostInterfacesReader,
    private readonly states: InterfaceStateReader,
  ) {}

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

  async create(req: NetworksPost, project: string): Promise<never> {
    if (req.name === '') throw badRequest('No name provided');
    if (req.name.includes('/')) throw badRequest('Network names may not contain slashes');
    if (!INTERFACE_NAME.test(req.name)) throw badRequest(`Invalid network name "${req.name}"`);
    const type = req.type === '' ? 'bridge' : req.type;
    if (!MANAGED_TYPES.includes(type)) throw badRequest(`Unknown network type "${type}"`);
    const effective = await this.effectiveProject(project);
    if ((await this.repo.listManaged(effective, req.name)).length > 0) throw conflict('The network already exists');
    throw badRequest(`Network type "${type}" is not supported yet: lxdts cannot create managed networks`);
  }

  /** PUT/PATCH/POST(rename)/DELETE: only managed networks can change, and lxdts does not manage any yet. */
  async refuseChange(name: string, project: string): Promise<never> {
    const effective = await this.effectiveProject(project);
    const [managed] = await this.repo.listManaged(effective, name);
    if (!managed) throw notFound('Network not found');
    throw badRequest(`Changing managed networks of type "${managed.type}" is not supported yet`);
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
