import { appendFileSync } from 'node:fs';
import type { DaemonOptions } from './daemon-options.js';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** LXD-style log lines to stderr, or to --logfile when given. --verbose shows info, --debug shows debug. */
export function createLogger(options: DaemonOptions): Logger {
  const write = (level: string, msg: string) => {
    const line = `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`;
    if (options.logfile) appendFileSync(options.logfile, line);
    else process.stderr.write(line);
  };
  return {
    debug: (m) => options.debug && write('debug', m),
    info: (m) => (options.debug || options.verbose) && write('info', m),
    warn: (m) => write('warning', m),
    error: (m) => write('error', m),
  };
}
