// Builds small /proc and /sys look-alikes for the readers' unit tests.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A file's content, `{ link }` for a symlink, or `{ dir: true }` for an empty directory. */
export type FixtureEntry = string | { link: string } | { dir: true };

export interface FixtureTree {
  root: string;
  remove(): void;
}

export function fixtureTree(entries: Record<string, FixtureEntry>): FixtureTree {
  const root = mkdtempSync(join(tmpdir(), 'lxdts-fixture-'));
  for (const [path, entry] of Object.entries(entries)) {
    const full = join(root, path);
    if (typeof entry === 'object' && 'dir' in entry) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    if (typeof entry === 'string') writeFileSync(full, entry);
    else symlinkSync(entry.link, full);
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
