import { type Kysely, sql } from 'kysely';

/** Runs a block of `;`-terminated DDL statements one by one (drivers prepare a single statement at a time). */
export async function execStatements(db: Kysely<unknown>, block: string): Promise<void> {
  for (const stmt of block.split(/;\s*\n/).map((s) => s.trim()).filter(Boolean)) {
    await sql.raw(stmt.replace(/;$/, '')).execute(db);
  }
}
