// `lxdts cluster list-database | remove-raft-node ADDRESS | recover-from-quorum-loss`, as `lxd cluster ...`.
import { createInterface } from 'node:readline/promises';
import { SqliteStore, recoverNode } from '@lxdts/raft-store';
import { clusterDataDir } from '../cluster/cluster-database.js';
import { CLUSTER_ADDRESS_KEY } from '../cluster/cluster-runtime.js';
import type { DaemonPaths } from '../daemon/paths.js';
import type { LocalClient } from './local-client.js';
import { renderTable } from './sql.command.js';

const USAGE = `Usage: lxdts cluster list-database
       lxdts cluster remove-raft-node ADDRESS [--quiet]
       lxdts cluster recover-from-quorum-loss [--quiet]
`;

export async function runCluster(client: LocalClient, paths: DaemonPaths, args: string[], flags: Record<string, string | boolean>): Promise<number> {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'list-database': {
      const nodes = await localRaftNodes(paths);
      process.stdout.write(renderTable(['ADDRESS'], nodes.filter((n) => n.role === 0).map((n) => [n.address])));
      return 0;
    }
    case 'remove-raft-node': {
      const address = rest[0];
      if (!address) break;
      if (!flags['quiet'] && !(await confirm(`Remove the database node ${address}? This should only be done for a member that is gone for good.`))) return 1;
      await client.sync('POST', '/internal/cluster/raft-remove', { address });
      return 0;
    }
    case 'recover-from-quorum-loss':
      return recover(client, paths, flags);
    default:
      break;
  }
  process.stderr.write(USAGE);
  return 1;
}

async function localRaftNodes(paths: DaemonPaths): Promise<{ id: number; address: string; role: number; name: string }[]> {
  const store = await SqliteStore.open(paths.database);
  try {
    return await store.db.selectFrom('raft_nodes').select(['id', 'address', 'role', 'name']).orderBy('id').execute();
  } finally {
    await store.close();
  }
}

/**
 * With the daemon stopped, makes this member the only voter of its database: for a cluster that lost the majority
 * of its voters for good. The other members must then be removed (`lxc cluster remove --force`) and rejoined.
 */
async function recover(client: LocalClient, paths: DaemonPaths, flags: Record<string, string | boolean>): Promise<number> {
  const running = await client.call('GET', '/1.0').then(
    () => true,
    () => false,
  );
  if (running) {
    process.stderr.write('Error: The daemon is running: stop it first (lxdts shutdown)\n');
    return 1;
  }
  const store = await SqliteStore.open(paths.database);
  try {
    const address = (await store.db.selectFrom('local_config').select('value').where('key', '=', CLUSTER_ADDRESS_KEY).executeTakeFirst())?.value ?? '';
    const self = (await store.db.selectFrom('raft_nodes').selectAll().execute()).find((n) => n.address === address);
    if (!address || !self) {
      process.stderr.write('Error: This server is not a member of a cluster database\n');
      return 1;
    }
    if (!flags['quiet'] && !(await confirm(`This member (${address}) becomes the only database member. Continue?`))) return 1;
    await recoverNode({ id: self.id, address, dataDir: clusterDataDir(paths.varDir), nodes: [{ id: self.id, address, role: 0 }] });
    await store.transaction(async (tx) => {
      await tx.deleteFrom('raft_nodes').where('id', '!=', self.id).execute();
      await tx.updateTable('raft_nodes').set({ role: 0 }).where('id', '=', self.id).execute();
    });
    process.stdout.write(`Recovered: ${address} is now the only database member. Start the daemon, then remove the lost members with \`lxc cluster remove --force\`.\n`);
    return 0;
  } finally {
    await store.close();
  }
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} (yes/no): `)).trim());
  } finally {
    rl.close();
  }
}
