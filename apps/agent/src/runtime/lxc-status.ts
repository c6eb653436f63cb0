// liblxc container states → LXD status strings and codes (driver_lxc.go lxcStatusCode; rest-api.md status codes).
import { StatusCode } from '@lxdts/api-types';

const BY_LXC_STATE: Record<string, keyof typeof StatusCode> = {
  STOPPED: 'Stopped',
  STARTING: 'Starting',
  RUNNING: 'Running',
  STOPPING: 'Stopping',
  ABORTING: 'Aborting',
  FREEZING: 'Freezing',
  FROZEN: 'Frozen',
  THAWED: 'Thawed',
};

export interface LxdStatus {
  status: string;
  status_code: number;
}

export function lxdStatus(lxcState: string): LxdStatus {
  const name = BY_LXC_STATE[lxcState.toUpperCase()] ?? 'Error';
  return { status: name, status_code: StatusCode[name] };
}

/** LXD renders usage for every state but Stopped and Error. */
export const isActive = (lxcState: string): boolean => {
  const s = lxcState.toUpperCase();
  return s !== 'STOPPED' && s in BY_LXC_STATE;
};
