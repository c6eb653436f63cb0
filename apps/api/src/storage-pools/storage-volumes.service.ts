// Read-only view of a pool's volumes (GET /1.0/storage-pools/<pool>/volumes...), enough for `lxc storage info`
// and `lxc storage volume list`. Snapshots are listed as "<volume>/<snapshot>" entries, as LXD does.
import { Injectable } from '@nestjs/common';
import type { StorageVolume, StorageVolumeContentType, StorageVolumeType } from '@lxdts/api-types';
import { badRequest, notFound } from '../http/api-error.js';
import { apiUrl } from '../projects/api-url.js';
import { StoragePoolsRepository } from './storage-pools.repository.js';
import { type VolumeRow, StorageVolumesRepository } from './storage-volumes.repository.js';

/** Indexed by storage_volumes.type. */
const VOLUME_TYPES: readonly StorageVolumeType[] = ['container', 'image', 'custom', 'virtual-machine'];
const CONTENT_TYPES: readonly StorageVolumeContentType[] = ['filesystem', 'block', 'iso'];

export interface VolumeQuery {
  pool: string;
  /** undefined = every project. */
  project?: string;
  type?: string;
  name?: string;
}

export interface ListedVolume {
  url: string;
  volume: StorageVolume;
}

@Injectable()
export class StorageVolumesService {
  constructor(
    private readonly pools: StoragePoolsRepository,
    private readonly repo: StorageVolumesRepository,
  ) {}

  async list(query: VolumeQuery): Promise<ListedVolume[]> {
    const pool = await this.pools.get(query.pool);
    if (!pool) throw notFound('Storage pool not found');
    let type: number | undefined;
    if (query.type !== undefined) {
      type = VOLUME_TYPES.indexOf(query.type as StorageVolumeType);
      if (type < 0) throw badRequest(`Invalid storage volume type "${query.type}"`);
    }
    const rows = await this.repo.list({
      poolId: pool.id,
      ...(query.project !== undefined ? { project: query.project } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(query.name !== undefined ? { name: query.name } : {}),
    });
    const out: ListedVolume[] = [];
    for (const row of rows) out.push(...(await this.expand(query.pool, row)));
    return out;
  }

  async get(query: Required<Omit<VolumeQuery, 'project'>> & { project: string }): Promise<StorageVolume> {
    const found = (await this.list(query)).find((v) => v.volume.name === query.name);
    if (!found) throw notFound('Storage volume not found');
    return found.volume;
  }

  /** The volume and one entry per snapshot. */
  private async expand(pool: string, row: VolumeRow): Promise<ListedVolume[]> {
    const type = VOLUME_TYPES[row.type] ?? 'custom';
    const path = ['storage-pools', pool, 'volumes', type, row.name];
    const url = apiUrl(path, row.project);
    const base = {
      type,
      location: row.location ?? '',
      content_type: CONTENT_TYPES[row.content_type] ?? 'filesystem',
      project: row.project,
    };
    const main: ListedVolume = {
      url,
      volume: {
        config: row.config,
        description: row.description,
        name: row.name,
        used_by: await this.usedBy(pool, row),
        created_at: row.creation_date,
        ...base,
      },
    };
    const snapshots = row.snapshots.map((s) => ({
      url: apiUrl([...path, 'snapshots', s.name], row.project),
      volume: {
        config: s.config,
        description: s.description,
        name: `${row.name}/${s.name}`,
        used_by:
          type === 'container' || type === 'virtual-machine'
            ? [apiUrl(['instances', row.name, 'snapshots', s.name], row.project)]
            : [],
        created_at: s.creation_date,
        ...base,
      },
    }));
    return [main, ...snapshots];
  }

  private async usedBy(pool: string, row: VolumeRow): Promise<string[]> {
    switch (VOLUME_TYPES[row.type]) {
      case 'container':
      case 'virtual-machine':
        return [apiUrl(['instances', row.name], row.project)];
      case 'image':
        return [apiUrl(['images', row.name], row.project)];
      default: {
        const users = await this.repo.customVolumeUsers(pool, row.name, row.project);
        return users.map((u) => apiUrl([u.kind === 'instance' ? 'instances' : 'profiles', u.name], u.project)).sort();
      }
    }
  }
}
