// The agent's log: LXD-style lines on stderr (the daemon that spawned it forwards them to its own log).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AgentLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): AgentLogger {
  const emit = (at: LogLevel, msg: string) => {
    if (ORDER[at] < ORDER[level]) return;
    const name = at === 'warn' ? 'warning' : at;
    write(`time="${new Date().toISOString()}" level=${name} msg=${JSON.stringify(msg)} component=agent\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

export const silentLogger: AgentLogger = { debug() {}, info() {}, warn() {}, error() {} };
