import { join } from 'node:path';

/** Where everything of one daemon lives: `$LXD_DIR` (default /var/lib/lxdts). */
export interface DaemonPaths {
  varDir: string;
  socket: string;
  serverCert: string;
  serverKey: string;
  database: string;
  storagePools: string;
  logFile: string;
}

export const DEFAULT_VAR_DIR = '/var/lib/lxdts';

export function daemonPaths(varDir: string = process.env['LXD_DIR'] || DEFAULT_VAR_DIR): DaemonPaths {
  return {
    varDir,
    socket: process.env['LXD_SOCKET'] || join(varDir, 'unix.socket'),
    serverCert: join(varDir, 'server.crt'),
    serverKey: join(varDir, 'server.key'),
    database: join(varDir, 'database', 'local.db'),
    storagePools: join(varDir, 'storage-pools'),
    logFile: join(varDir, 'lxd.log'),
  };
}
