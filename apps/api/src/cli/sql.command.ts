import type { RawResult } from '@lxdts/raft-store';
import type { LocalClient } from './local-client.js';

/** `lxdts sql local|global "<query>"`: prints rows as a table, or the number of affected rows. */
export async function runSql(client: LocalClient, args: string[]): Promise<number> {
  const [database, ...rest] = args;
  const query = rest.join(' ');
  if ((database !== 'local' && database !== 'global') || !query) {
    process.stderr.write('Usage: lxdts sql local|global "<query>"\n');
    return 1;
  }
  const result = await client.sync<RawResult>('POST', '/internal/sql', { database, query });
  process.stdout.write(result.kind === 'rows' ? renderTable(result.columns, result.rows) : `Rows affected: ${result.rowsAffected}\n`);
  return 0;
}

export function renderTable(columns: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map((v) => (v === null ? '' : String(v))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const row = (vals: string[]) => '|' + vals.map((v, i) => ` ${v.padEnd(widths[i]!)} `).join('|') + '|\n';
  return line + row(columns) + line + cells.map(row).join('') + line;
}
