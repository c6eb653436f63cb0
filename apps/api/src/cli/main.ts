#!/usr/bin/env node
// `lxdts`: LXD's admin verbs. The user-facing client is the real `lxc`.
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonPaths } from '../daemon/paths.js';
import { SERVER_VERSION } from '../server/server-info.service.js';
import { parseArgs } from './args.js';
import { LocalClient } from './local-client.js';
import { runCluster } from './cluster.command.js';
import { runInit } from './init.command.js';
import { runSql } from './sql.command.js';

const USAGE = `Usage: lxdts <command> [flags]

Commands:
  daemon [--group G] [--logfile F] [--debug] [--verbose]   Run the daemon (LXD_DIR, default /var/lib/lxdts)
  waitready [--timeout SECONDS]                            Wait until the daemon is ready
  shutdown [--timeout SECONDS]                             Ask the daemon to stop
  init --auto [--network-address A] [--network-port P] [--storage-backend dir|btrfs] [--storage-create-loop GiB] [--trust-password PW]
       | --preseed (YAML on stdin) | --dump                 Configure the daemon, as lxd init
  sql local|global "<query>"                               Run SQL against the database
  cluster list-database | remove-raft-node ADDRESS | recover-from-quorum-loss [--quiet]
                                                           Database members of a clustered server
  version                                                  Print the version
`;

const BOOLEANS = ['debug', 'verbose', 'auto', 'preseed', 'dump', 'help', 'h', 'force', 'quiet'];

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { flags, positionals } = parseArgs(rest, BOOLEANS);
  const paths = daemonPaths();
  const client = new LocalClient(paths.socket);
  switch (command) {
    case 'daemon':
    case undefined: {
      if (command === undefined && (flags['help'] || flags['h'])) break;
      const { startDaemon } = await import('../daemon/daemon.js');
      const daemon = await startDaemon(paths, {
        group: String(flags['group'] ?? ''),
        logfile: String(flags['logfile'] ?? ''),
        debug: Boolean(flags['debug']),
        verbose: Boolean(flags['verbose']),
      });
      // As lxd: SIGPWR shuts the instances down too; SIGINT/SIGTERM leave them running (daemon restart).
      process.once('SIGPWR', () => void daemon.stop(true));
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void daemon.stop());
      await daemon.stopped;
      return 0;
    }
    case 'waitready': {
      const timeout = Number(flags['timeout'] ?? 0);
      const deadline = timeout > 0 ? Date.now() + timeout * 1000 : Infinity;
      for (;;) {
        try {
          const { status } = await client.call('GET', '/internal/ready');
          if (status === 200) return 0;
        } catch {
          /* not listening yet */
        }
        if (Date.now() > deadline) {
          process.stderr.write('Error: LXD still not running after ' + timeout + 's timeout\n');
          return 1;
        }
        await sleep(100);
      }
    }
    case 'shutdown': {
      const timeout = Number(flags['timeout'] ?? 0);
      try {
        await client.sync('PUT', '/internal/shutdown');
      } catch (err) {
        process.stderr.write(`Error: ${(err as Error).message}\n`);
        return 1;
      }
      const deadline = timeout > 0 ? Date.now() + timeout * 1000 : Infinity;
      // Done when the socket stops answering.
      for (;;) {
        try {
          await client.call('GET', '/1.0');
        } catch {
          return 0;
        }
        if (Date.now() > deadline) {
          process.stderr.write('Error: daemon still running after timeout\n');
          return 1;
        }
        await sleep(100);
      }
    }
    case 'init':
      return runInit(client, flags);
    case 'sql':
      return runSql(client, positionals);
    case 'cluster':
      return runCluster(client, paths, positionals, flags);
    case 'version':
    case '--version':
      process.stdout.write(`${SERVER_VERSION}\n`);
      return 0;
    default:
      break;
  }
  process.stdout.write(USAGE);
  return command === undefined || command === 'help' || flags['help'] ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
