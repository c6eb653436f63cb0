export type { Store, Db, Tx, RawResult, StoreScope } from './store.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export type * from './schema/index.js';
export { globalMigrations, localMigrations } from './migrations/index.js';
export type { NumberedMigration } from './migrations/index.js';
