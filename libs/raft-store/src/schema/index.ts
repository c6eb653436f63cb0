import type { GlobalDatabase } from './global.js';
import type { LocalDatabase } from './local.js';

export type * from './global.js';
export type * from './local.js';

/** Standalone: both schemas live in one SQLite file. */
export type Database = GlobalDatabase & LocalDatabase;
