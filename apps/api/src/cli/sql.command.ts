import type { LocalClient } from './local-client.js';

export async function runSql(_client: LocalClient, _args: string[]): Promise<number> {
  process.stderr.write('Error: sql is not implemented yet\n');
  return 1;
}
