// SQL for images, their properties, profiles, cluster members and aliases.
import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { Store, Tx } from '@lxdts/raft-store';
import type { ImageAlias } from '@lxdts/api-types';
import { STORE } from '../daemon/tokens.js';
import { conflict } from '../http/api-error.js';

type Db = Store['db'] | Tx;

/** images.type codes. */
export const IMAGE_TYPE_CODES = { container: 0, 'virtual-machine': 1 } as const;

export interface ProjectRef {
  id: number;
  name: string;
}

export interface ImageRow {
  id: number;
  projectId: number;
  fingerprint: string;
  filename: string;
  size: number;
  public: boolean;
  architecture: number;
  creationDate: string | null;
  expiryDate: string | null;
  uploadDate: string;
  cached: boolean;
  lastUseDate: string | null;
  autoUpdate: boolean;
  type: number;
  properties: Record<string, string>;
  aliases: ImageAlias[];
  profiles: string[];
}

export interface NewImage {
  projectId: number;
  fingerprint: string;
  filename: string;
  size: number;
  public: boolean;
  autoUpdate: boolean;
  architecture: number;
  type: number;
  creationDate: string;
  expiryDate: string;
  uploadDate: string;
  properties: Record<string, string>;
  profileIds: number[];
  nodeId: number;
  aliases: ImageAlias[];
}

export interface ImageChanges {
  public: boolean;
  autoUpdate: boolean;
  expiryDate: string | null;
  properties: Record<string, string>;
  /** Replaces the profile list when given. */
  profileIds?: number[];
}

export interface AliasRow {
  id: number;
  name: string;
  description: string;
  imageId: number;
  fingerprint: string;
  imageType: number;
  imagePublic: boolean;
}

@Injectable()
export class ImagesRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  /**
   * The project holding the images (or profiles) of `name`: the project itself when its `feature` is enabled, else
   * the default project. Undefined when the project does not exist.
   */
  /** The members that have an image's files. */
  async holders(fingerprint: string): Promise<{ nodeId: number; name: string; address: string }[]> {
    return this.store.db
      .selectFrom('images_nodes')
      .innerJoin('images', 'images.id', 'images_nodes.image_id')
      .innerJoin('nodes', 'nodes.id', 'images_nodes.node_id')
      .select(['nodes.id as nodeId', 'nodes.name as name', 'nodes.address as address'])
      .where('images.fingerprint', '=', fingerprint)
      .execute();
  }

  /** Records that `nodeId` has the image's files now (every row of that fingerprint, in every project). */
  async addHolder(fingerprint: string, nodeId: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      const ids = (await tx.selectFrom('images').select('id').where('fingerprint', '=', fingerprint).execute()).map((r) => r.id);
      for (const id of ids) {
        await tx.deleteFrom('images_nodes').where('image_id', '=', id).where('node_id', '=', nodeId).execute();
        await tx.insertInto('images_nodes').values({ image_id: id, node_id: nodeId }).execute();
      }
    });
  }

  async featureProject(name: string, feature: 'features.images' | 'features.profiles'): Promise<ProjectRef | undefined> {
    const project = await this.store.db.selectFrom('projects').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    if (!project || project.name === 'default') return project;
    const enabled = await this.store.db
      .selectFrom('projects_config')
      .select('value')
      .where('project_id', '=', project.id)
      .where('key', '=', feature)
      .executeTakeFirst();
    if (enabled?.value === 'true') return project;
    return this.store.db.selectFrom('projects').select(['id', 'name']).where('name', '=', 'default').executeTakeFirstOrThrow();
  }

  list(projectId: number): Promise<ImageRow[]> {
    return this.load(this.store.db, (q) => q.where('project_id', '=', projectId));
  }

  /** Images of the project whose fingerprint starts with `prefix` (case-insensitive, as LXD's LIKE). */
  byPrefix(projectId: number, prefix: string): Promise<ImageRow[]> {
    const pattern = prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    return this.load(this.store.db, (q) =>
      q.where('project_id', '=', projectId).where(sql<boolean>`fingerprint LIKE ${pattern} ESCAPE '\\'`),
    );
  }

  async byFingerprint(projectId: number, fingerprint: string, db: Db = this.store.db): Promise<ImageRow | undefined> {
    const rows = await this.load(db, (q) => q.where('project_id', '=', projectId).where('fingerprint', '=', fingerprint));
    return rows[0];
  }

  /** How many projects hold an image with this fingerprint (they share its files). */
  async countByFingerprint(fingerprint: string): Promise<number> {
    const row = await this.store.db
      .selectFrom('images')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('fingerprint', '=', fingerprint)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Inserts an image with its properties, profiles, member and aliases in one transaction. */
  async insert(img: NewImage): Promise<number> {
    return this.store.transaction(async (tx) => {
      for (const alias of img.aliases) {
        if (await this.aliasRow(tx, img.projectId, alias.name)) throw conflict(`Alias already exists: ${alias.name}`);
      }
      const { id } = await tx
        .insertInto('images')
        .values({
          fingerprint: img.fingerprint,
          filename: img.filename,
          size: img.size,
          public: img.public ? 1 : 0,
          architecture: img.architecture,
          creation_date: img.creationDate,
          expiry_date: img.expiryDate,
          upload_date: img.uploadDate,
          cached: 0,
          last_use_date: null,
          auto_update: img.autoUpdate ? 1 : 0,
          project_id: img.projectId,
          type: img.type,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.writeProperties(tx, id, img.properties);
      await this.writeProfiles(tx, id, img.profileIds);
      await tx.insertInto('images_nodes').values({ image_id: id, node_id: img.nodeId }).execute();
      for (const alias of img.aliases) {
        await tx
          .insertInto('images_aliases')
          .values({ name: alias.name, image_id: id, description: alias.description, project_id: img.projectId })
          .execute();
      }
      return id;
    });
  }

  async update(id: number, changes: ImageChanges): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx
        .updateTable('images')
        .set({
          public: changes.public ? 1 : 0,
          auto_update: changes.autoUpdate ? 1 : 0,
          expiry_date: changes.expiryDate,
        })
        .where('id', '=', id)
        .execute();
      await tx.deleteFrom('images_properties').where('image_id', '=', id).execute();
      await this.writeProperties(tx, id, changes.properties);
      if (changes.profileIds) {
        await tx.deleteFrom('images_profiles').where('image_id', '=', id).execute();
        await this.writeProfiles(tx, id, changes.profileIds);
      }
    });
  }

  /** Removes the image row; properties, aliases, profiles and members go with it (ON DELETE CASCADE). */
  async delete(id: number): Promise<void> {
    await this.store.db.deleteFrom('images').where('id', '=', id).execute();
  }

  /** Records that an instance was created from the image (in `projectId`, or in every project when undefined). */
  async touch(fingerprint: string, date: string, projectId?: number): Promise<void> {
    let q = this.store.db.updateTable('images').set({ last_use_date: date }).where('fingerprint', '=', fingerprint);
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    await q.execute();
  }

  /** Ids of the named profiles of a project, in the given order; missing names are absent from the map. */
  async profileIds(projectId: number, names: readonly string[]): Promise<Map<string, number>> {
    if (names.length === 0) return new Map();
    const rows = await this.store.db
      .selectFrom('profiles')
      .select(['id', 'name'])
      .where('project_id', '=', projectId)
      .where('name', 'in', [...names])
      .execute();
    return new Map(rows.map((r) => [r.name, r.id]));
  }

  aliases(projectId: number): Promise<AliasRow[]> {
    return this.aliasQuery(this.store.db, projectId).orderBy('images_aliases.name').execute().then((rows) => rows.map(toAlias));
  }

  async alias(projectId: number, name: string): Promise<AliasRow | undefined> {
    return this.aliasRow(this.store.db, projectId, name);
  }

  async insertAlias(projectId: number, name: string, imageId: number, description: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (await this.aliasRow(tx, projectId, name)) throw conflict(`Alias "${name}" already exists`);
      await tx.insertInto('images_aliases').values({ name, image_id: imageId, description, project_id: projectId }).execute();
    });
  }

  async updateAlias(id: number, imageId: number, description: string): Promise<void> {
    await this.store.db.updateTable('images_aliases').set({ image_id: imageId, description }).where('id', '=', id).execute();
  }

  async renameAlias(projectId: number, id: number, name: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (await this.aliasRow(tx, projectId, name)) throw conflict(`Alias "${name}" already exists`);
      await tx.updateTable('images_aliases').set({ name }).where('id', '=', id).execute();
    });
  }

  async deleteAlias(id: number): Promise<void> {
    await this.store.db.deleteFrom('images_aliases').where('id', '=', id).execute();
  }

  private aliasQuery(db: Db, projectId: number) {
    return db
      .selectFrom('images_aliases')
      .innerJoin('images', 'images.id', 'images_aliases.image_id')
      .select([
        'images_aliases.id',
        'images_aliases.name',
        'images_aliases.description',
        'images_aliases.image_id',
        'images.fingerprint',
        'images.type',
        'images.public',
      ])
      .where('images_aliases.project_id', '=', projectId);
  }

  private async aliasRow(db: Db, projectId: number, name: string): Promise<AliasRow | undefined> {
    const row = await this.aliasQuery(db, projectId).where('images_aliases.name', '=', name).executeTakeFirst();
    return row && toAlias(row);
  }

  private async writeProperties(tx: Tx, imageId: number, properties: Record<string, string>): Promise<void> {
    const rows = Object.entries(properties).map(([key, value]) => ({ image_id: imageId, type: 0, key, value }));
    if (rows.length) await tx.insertInto('images_properties').values(rows).execute();
  }

  private async writeProfiles(tx: Tx, imageId: number, profileIds: readonly number[]): Promise<void> {
    const rows = profileIds.map((profile_id) => ({ image_id: imageId, profile_id }));
    if (rows.length) await tx.insertInto('images_profiles').values(rows).execute();
  }

  /** Images matching `where`, by fingerprint, with their properties, aliases and profiles. */
  private async load(
    db: Db,
    where: (q: ReturnType<ImagesRepository['imageQuery']>) => ReturnType<ImagesRepository['imageQuery']>,
  ): Promise<ImageRow[]> {
    const rows = await where(this.imageQuery(db)).orderBy('fingerprint').execute();
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [props, aliases, profiles] = await Promise.all([
      db.selectFrom('images_properties').select(['image_id', 'key', 'value']).where('image_id', 'in', ids).orderBy('id').execute(),
      db
        .selectFrom('images_aliases')
        .select(['image_id', 'name', 'description'])
        .where('image_id', 'in', ids)
        .orderBy('name')
        .execute(),
      db
        .selectFrom('images_profiles')
        .innerJoin('profiles', 'profiles.id', 'images_profiles.profile_id')
        .select(['images_profiles.image_id', 'profiles.name'])
        .where('images_profiles.image_id', 'in', ids)
        .orderBy(sql`images_profiles.rowid`)
        .execute(),
    ]);
    return rows.map((r) => {
      const properties: Record<string, string> = {};
      for (const p of props) if (p.image_id === r.id) properties[p.key] = p.value;
      return {
        id: r.id,
        projectId: r.project_id,
        fingerprint: r.fingerprint,
        filename: r.filename,
        size: r.size,
        public: r.public === 1,
        architecture: r.architecture,
        creationDate: r.creation_date,
        expiryDate: r.expiry_date,
        uploadDate: r.upload_date,
        cached: r.cached === 1,
        lastUseDate: r.last_use_date,
        autoUpdate: r.auto_update === 1,
        type: r.type,
        properties,
        aliases: aliases.filter((a) => a.image_id === r.id).map((a) => ({ name: a.name, description: a.description })),
        profiles: profiles.filter((p) => p.image_id === r.id).map((p) => p.name),
      };
    });
  }

  private imageQuery(db: Db) {
    return db.selectFrom('images').selectAll();
  }
}

function toAlias(r: {
  id: number;
  name: string;
  description: string;
  image_id: number;
  fingerprint: string;
  type: number;
  public: number;
}): AliasRow {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    imageId: r.image_id,
    fingerprint: r.fingerprint,
    imageType: r.type,
    imagePublic: r.public === 1,
  };
}
