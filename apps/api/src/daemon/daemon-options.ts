/** Flags of `lxdts daemon`, named as `lxd`'s. */
export interface DaemonOptions {
  group: string;
  logfile: string;
  debug: boolean;
  verbose: boolean;
}
