import type { Kysely } from 'kysely';

/** One numbered schema update. Never edit a released one: append a new one. */
export interface NumberedMigration {
  /** e.g. "0001-initial" — the order is the name's order. */
  name: string;
  up(db: Kysely<unknown>): Promise<void>;
  down?(db: Kysely<unknown>): Promise<void>;
}
