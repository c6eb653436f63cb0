import { type Kysely, type Migration, Migrator } from 'kysely';
import type { NumberedMigration } from './migrations/migration.js';

/** Applies pending numbered migrations; `table` keeps each schema's history apart. */
export async function runMigrations(
  db: Kysely<any>,
  table: string,
  migrations: readonly NumberedMigration[],
): Promise<void> {
  const migrator = new Migrator({
    db,
    migrationTableName: table,
    migrationLockTableName: `${table}_lock`,
    provider: {
      async getMigrations() {
        const out: Record<string, Migration> = {};
        for (const m of migrations) out[m.name] = { up: m.up, ...(m.down ? { down: m.down } : {}) };
        return out;
      },
    },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`schema update ${failed?.migrationName ?? '?'} (${table}) failed: ${(error as Error).message}`);
  }
}
