// Resource usage of a project (GET /1.0/projects/{name}/state) and the limit checks that use the same sums.
// Instance values are their effective ones: profiles applied in order, then the instance's own config on top.
import type { ProjectResource, ProjectState, ProjectStateResource } from '@lxdts/api-types';
import type { Devices } from './config-rows.js';
import { parseByteSize } from './config-validators.js';
import { type RestrictedEntity, restrictionProblem } from './project-restrictions.js';

export interface ProfileRecord {
  id: number;
  name: string;
  config: Record<string, string>;
  devices: Devices;
}

export interface InstanceRecord {
  name: string;
  /** 0 container, 1 virtual-machine (the instances.type column). */
  type: number;
  config: Record<string, string>;
  devices: Devices;
  /** Profiles in apply order. */
  profileIds: number[];
}

/** Everything in a project that its limits and restrictions are computed over. */
export interface ProjectInventory {
  instances: InstanceRecord[];
  /** The project's own profiles and every profile its instances use, by id. */
  profiles: Map<number, ProfileRecord>;
  /** Custom volumes: name and `size` config. */
  volumes: { name: string; size: string | undefined }[];
  /** Networks of the project in the created state. */
  createdNetworks: number;
}

interface ExpandedInstance {
  name: string;
  kind: 'container' | 'virtual-machine';
  config: Record<string, string>;
  devices: Devices;
}

export const AGGREGATE_LIMITS = ['limits.cpu', 'limits.disk', 'limits.memory', 'limits.processes'] as const;
export type AggregateLimit = (typeof AGGREGATE_LIMITS)[number];

const COUNT_LIMITS: Readonly<Record<string, 'container' | 'virtual-machine'>> = {
  'limits.containers': 'container',
  'limits.virtual-machines': 'virtual-machine',
};

/** The size.state LXD assumes for a VM root disk that sets none. */
const DEFAULT_VM_STATE_SIZE = '100MiB';

/** Parses a project or instance value of an aggregate limit; throws LXD's message. */
export function parseAggregate(key: AggregateLimit, value: string): number {
  switch (key) {
    case 'limits.memory':
      if (value.endsWith('%')) throw new Error("Value can't be a percentage");
      return parseByteSize(value);
    case 'limits.disk':
      return parseByteSize(value);
    case 'limits.cpu':
      if (value.includes(',') || value.includes('-')) throw new Error("CPUs can't be pinned if project limits are used");
      return parseAtoi(value);
    case 'limits.processes':
      return parseAtoi(value);
  }
}

function parseAtoi(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new Error(`strconv.Atoi: parsing "${value}": invalid syntax`);
  return Number(value);
}

/** Bytes as LXD prints them in limit errors (IEC units, one decimal). */
function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(1)}${units[i]}`;
}

const formatTotal = (key: AggregateLimit, n: number): string => (key === 'limits.memory' || key === 'limits.disk' ? formatBytes(n) : String(n));

function expand(inventory: ProjectInventory): ExpandedInstance[] {
  return inventory.instances.map((inst) => {
    const config: Record<string, string> = {};
    const devices: Devices = {};
    for (const id of inst.profileIds) {
      const profile = inventory.profiles.get(id);
      if (!profile) continue;
      Object.assign(config, profile.config);
      Object.assign(devices, profile.devices);
    }
    Object.assign(config, inst.config);
    Object.assign(devices, inst.devices);
    return { name: inst.name, kind: inst.type === 1 ? 'virtual-machine' : 'container', config, devices };
  });
}

function rootDisk(devices: Devices): Record<string, string> | undefined {
  return Object.values(devices).find((d) => d['type'] === 'disk' && d['path'] === '/' && !d['source']);
}

/**
 * Sums an aggregate limit over instances (and custom volumes for disk). `strict` makes a missing or unparsable
 * value an error, as when a limit is being enforced; otherwise such entities are skipped, as in the state view.
 */
function totalOf(projectName: string, key: AggregateLimit, instances: ExpandedInstance[], volumes: ProjectInventory['volumes'], strict: boolean): number {
  let total = 0;
  const skipOr = (message: string): number => {
    if (strict) throw new Error(message);
    return 0;
  };
  if (key === 'limits.disk') {
    for (const vol of volumes) {
      if (vol.size === undefined) {
        total += skipOr(`Custom volume "${vol.name}" in project "${projectName}" has no "size" config set`);
        continue;
      }
      total += parseByteSize(vol.size);
    }
  }
  for (const inst of instances) {
    if (key === 'limits.disk') {
      const root = rootDisk(inst.devices);
      const size = root?.['size'];
      if (!size) {
        total += skipOr(`Instance "${inst.name}" in project "${projectName}" has no "size" config set on the root device either directly or via a profile`);
        continue;
      }
      try {
        total += parseAggregate(key, size);
        if (inst.kind === 'virtual-machine') total += parseAggregate(key, root?.['size.state'] ?? DEFAULT_VM_STATE_SIZE);
      } catch {
        total += skipOr(`Failed parsing "${key}" for instance "${inst.name}" in project "${projectName}"`);
      }
      continue;
    }
    const value = inst.config[key];
    if (!value) {
      total += skipOr(`Instance "${inst.name}" in project "${projectName}" has no "${key}" config, either directly or via a profile`);
      continue;
    }
    try {
      total += parseAggregate(key, value);
    } catch {
      total += skipOr(`Failed parsing "${key}" for instance "${inst.name}" in project "${projectName}"`);
    }
  }
  return total;
}

const limitOf = (config: Record<string, string>, key: string): number => {
  const v = config[key];
  return v === undefined || v === '' ? -1 : Number(v);
};

export function projectState(projectName: string, config: Record<string, string>, inventory: ProjectInventory): ProjectState {
  const instances = expand(inventory);
  const resources = {} as Record<ProjectResource, ProjectStateResource>;
  const aggregate: [ProjectResource, AggregateLimit][] = [
    ['cpu', 'limits.cpu'],
    ['disk', 'limits.disk'],
    ['memory', 'limits.memory'],
    ['processes', 'limits.processes'],
  ];
  for (const [resource, key] of aggregate) {
    const limit = config[key] ? parseAggregate(key, config[key]!) : -1;
    resources[resource] = { Limit: limit, Usage: totalOf(projectName, key, instances, inventory.volumes, false) };
  }
  const count = (kind: ExpandedInstance['kind']): number => instances.filter((i) => i.kind === kind).length;
  resources.instances = { Limit: limitOf(config, 'limits.instances'), Usage: instances.length };
  resources.containers = { Limit: limitOf(config, 'limits.containers'), Usage: count('container') };
  resources['virtual-machines'] = { Limit: limitOf(config, 'limits.virtual-machines'), Usage: count('virtual-machine') };
  resources.networks = { Limit: limitOf(config, 'limits.networks'), Usage: inventory.createdNetworks };
  // Go marshals maps with sorted keys; keep the same order on the wire.
  const sorted = {} as Record<ProjectResource, ProjectStateResource>;
  for (const k of Object.keys(resources).sort() as ProjectResource[]) sorted[k] = resources[k];
  return { resources: sorted };
}

function entitiesOf(inventory: ProjectInventory, instances: ExpandedInstance[]): RestrictedEntity[] {
  return [
    ...instances.map((i) => ({ kind: i.kind, name: i.name, config: i.config, devices: i.devices })),
    ...[...inventory.profiles.values()].map((p) => ({ kind: 'profile' as const, name: p.name, config: p.config, devices: p.devices })),
  ];
}

/** Checks a new project config against what the project holds (LXD's AllowProjectUpdate). */
export function projectUpdateProblem(projectName: string, config: Record<string, string>, changed: readonly string[], inventory: ProjectInventory): string | null {
  const instances = expand(inventory);
  const aggregate: AggregateLimit[] = [];
  for (const key of changed) {
    // As LXD, only the restricted.* sub-keys trigger the check, not `restricted` itself.
    if (key.startsWith('restricted.')) {
      for (const entity of entitiesOf(inventory, instances)) {
        const problem = restrictionProblem(projectName, config, entity);
        if (problem) return `Conflict detected when changing "${key}" in project "${projectName}": ${problem}`;
      }
      continue;
    }
    const value = config[key] ?? '';
    if (key === 'limits.instances' && value !== '' && Number(value) < instances.length) {
      return `Can't change limits.instances in project "${projectName}": "limits.instances" is too low: there currently are ${instances.length} total instances in project "${projectName}"`;
    }
    const kind = COUNT_LIMITS[key];
    if (kind && value !== '') {
      const count = instances.filter((i) => i.kind === kind).length;
      if (Number(value) < count) {
        return `Can't change "${key}" in project "${projectName}": "${key}" is too low: there currently are ${count} instances of type ${kind} in project "${projectName}"`;
      }
    }
    if ((AGGREGATE_LIMITS as readonly string[]).includes(key)) aggregate.push(key as AggregateLimit);
  }
  for (const key of aggregate) {
    const value = config[key] ?? '';
    if (value === '') continue;
    try {
      const total = totalOf(projectName, key, instances, inventory.volumes, true);
      let limit: number;
      try {
        limit = parseAggregate(key, value);
      } catch (err) {
        return `Invalid value "${value}" for limit "${key}": ${(err as Error).message}`;
      }
      if (limit < total) return `"${key}" is too low: current total is "${formatTotal(key, total)}"`;
    } catch (err) {
      return (err as Error).message;
    }
  }
  return null;
}

/** Checks a profile's new config and devices against its project's limits and restrictions (AllowProfileUpdate). */
export function profileUpdateProblem(
  projectName: string,
  projectConfig: Record<string, string>,
  inventory: ProjectInventory,
  profile: ProfileRecord,
): string | null {
  const profiles = new Map(inventory.profiles);
  profiles.set(profile.id, profile);
  const updated: ProjectInventory = { ...inventory, profiles };
  const instances = expand(updated);
  const limits = AGGREGATE_LIMITS.filter((k) => projectConfig[k]);
  const wrap = (message: string): string => `Failed checking if profile update allowed: ${message}`;
  for (const key of limits) {
    try {
      const max = parseAggregate(key, projectConfig[key]!);
      const total = totalOf(projectName, key, instances, updated.volumes, true);
      if (total > max) return wrap(`Reached maximum aggregate value "${projectConfig[key]}" for "${key}" in project "${projectName}"`);
    } catch (err) {
      return wrap(`Failed getting usage of project entities: ${(err as Error).message}`);
    }
  }
  for (const entity of entitiesOf(updated, instances)) {
    const problem = restrictionProblem(projectName, projectConfig, entity);
    if (problem) return wrap(problem);
  }
  return null;
}
