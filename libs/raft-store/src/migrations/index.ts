// The ordered lists of schema updates. Append only.
import type { NumberedMigration } from './migration.js';
import { migration as global0001 } from './global/0001-initial.js';
import { migration as global0002 } from './global/0002-cluster-join-tokens.js';
import { migration as global0003 } from './global/0003-instances-backups.js';
import { migration as global0004 } from './global/0004-storage-volumes-backups.js';
import { migration as global0005 } from './global/0005-networks-acls.js';
import { migration as local0001 } from './local/0001-initial.js';

export const globalMigrations: readonly NumberedMigration[] = [global0001, global0002, global0003, global0004, global0005];
export const localMigrations: readonly NumberedMigration[] = [local0001];
export type { NumberedMigration } from './migration.js';
