import type { LocalClient } from './local-client.js';

export async function runInit(_client: LocalClient, _flags: Record<string, string | boolean>): Promise<number> {
  process.stderr.write('Error: init is not implemented yet\n');
  return 1;
}
