#!/usr/bin/env node
// The host agent: `node apps/agent/dist/main.js --socket <path> --var-dir <LXD_DIR> [--debug|--verbose]`.
// Started by `lxdts daemon`; containers keep running when it stops (liblxc daemonizes them).
import { parseArgs } from 'node:util';
import { type LogLevel, createLogger } from './log.js';
import { type RunningAgent, startAgentServer } from './server/agent-server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      'var-dir': { type: 'string' },
      debug: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      'lxc-log-level': { type: 'string' },
      // Set by the daemon, which keeps our stdin open: when it dies, stdin closes and the agent exits too.
      'exit-on-stdin-close': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const varDir = values['var-dir'];
  const socketPath = values.socket;
  if (!varDir || !socketPath) {
    process.stderr.write('Usage: main.js --socket <path> --var-dir <LXD_DIR> [--debug] [--verbose] [--lxc-log-level <level>] [--exit-on-stdin-close]\n');
    process.exit(2);
  }
  const level: LogLevel = values.debug ? 'debug' : values.verbose ? 'info' : 'warn';
  const log = createLogger(level);

  // Signal handlers come first: a stop request during start-up waits for the server, then closes it.
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Agent stopping (${why}); containers keep running`);
    void starting.then(
      (a) => a.close().then(() => process.exit(0)),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => undefined);
  if (values['exit-on-stdin-close']) {
    process.stdin.on('end', () => stop('daemon exit: stdin closed'));
    process.stdin.on('error', () => stop('daemon exit: stdin error'));
    process.stdin.resume();
  }

  const starting = startAgentServer({
    socketPath,
    varDir,
    log,
    lxcLogLevel: values['lxc-log-level'] ?? (values.debug ? 'debug' : 'warn'),
    ensureSubIds: process.getuid?.() === 0,
  });
  const agent: RunningAgent = await starting;
  const found = await agent.runtime.list().catch(() => []);
  log.info(`Agent ready (pid ${process.pid}); ${found.filter((c) => c.status === 'Running').length} of ${found.length} containers running`);
}

main().catch((err: unknown) => {
  process.stderr.write(`time="${new Date().toISOString()}" level=error msg=${JSON.stringify(`Agent failed to start: ${(err as Error)?.message ?? err}`)} component=agent\n`);
  process.exit(1);
});
