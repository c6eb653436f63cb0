// The exec request as LXD 5.0.2 reads it (lxd/instance_exec.go instanceExecPost): body decoding, the environment
// defaults, the working directory, and the control messages of the exec websocket.
import type { AgentExecControl, InstanceExecPost } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';
import { type Decoder, array, boolean, integer, object, string, stringMap } from '../http/body-schema.js';

/** api.InstanceExecControl: what clients send on the `control` websocket. */
export interface InstanceExecControl {
  command: string;
  args: Record<string, string> | null;
  signal: number;
}

/** Go unmarshals into uint32: negative or too large numbers are a 400 with json's message. */
const uint32 =
  (field: string): Decoder<number> =>
  (v, p) => {
    const n = integer(v, p);
    if (n < 0 || n > 0xffffffff) throw badRequest(`json: cannot unmarshal number ${n} into Go struct field InstanceExecPost.${field} of type uint32`);
    return n;
  };

export const instanceExecPost: Decoder<InstanceExecPost> = object({
  command: array(string),
  'wait-for-websocket': boolean,
  interactive: boolean,
  environment: stringMap,
  width: integer,
  height: integer,
  'record-output': boolean,
  user: uint32('user'),
  group: uint32('group'),
  cwd: string,
});

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The command's environment, in LXD's order of precedence: the request, then the instance's `environment.*`
 * keys, then PATH (plus /snap/bin and NixOS's path when the container has /snap or /etc/NIXOS), HOME and USER
 * for root, LANG. Keys come out sorted, as Go marshals the map into the operation metadata.
 */
export function execEnvironment(
  post: Pick<InstanceExecPost, 'environment' | 'user'>,
  expandedConfig: Record<string, string>,
  containerHas: (path: string) => boolean,
): Record<string, string> {
  const env: Record<string, string> = { ...post.environment };
  for (const [k, v] of Object.entries(expandedConfig)) {
    if (!k.startsWith('environment.')) continue;
    const key = k.slice('environment.'.length);
    if (!(key in env)) env[key] = v;
  }
  if (!('PATH' in env)) {
    let path = DEFAULT_PATH;
    if (containerHas('/snap')) path += ':/snap/bin';
    if (containerHas('/etc/NIXOS')) path += ':/run/current-system/sw/bin';
    env['PATH'] = path;
  }
  if (post.user === 0) {
    env['HOME'] ??= '/root';
    env['USER'] ??= 'root';
  }
  env['LANG'] ??= 'C.UTF-8';
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** LXD's forkexec starts in $HOME when the environment has one, unless the request names a directory. */
export function execCwd(post: Pick<InstanceExecPost, 'cwd'>, env: Record<string, string>): string {
  return post.cwd !== '' ? post.cwd : (env['HOME'] ?? '');
}

/** Go's strconv.Atoi. */
function atoi(s: string | undefined): number | null {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * A control-websocket message for the agent, or null when LXD would ignore it: unreadable JSON, unknown commands,
 * window sizes that are not integers, or a window-resize for a non-interactive command.
 */
export function parseExecControl(text: string, interactive: boolean): AgentExecControl | null {
  let msg: Partial<InstanceExecControl>;
  try {
    msg = JSON.parse(text) as Partial<InstanceExecControl>;
  } catch {
    return null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  if (msg.command === 'window-resize' && interactive) {
    const width = atoi(msg.args?.['width']);
    const height = atoi(msg.args?.['height']);
    return width === null || height === null ? null : { type: 'resize', width, height };
  }
  if (msg.command === 'signal' && Number.isInteger(msg.signal)) return { type: 'signal', signal: msg.signal as number };
  return null;
}
