// The agent's endpoints: one entry per path and verb, each a thin call into the runtime or a storage driver.
import type {
  AgentExecResult,
  AgentInstanceSpec,
  AgentInstanceStatesResult,
  AgentReady,
  AgentVolumeRef,
} from '@lxdts/api-types';
import { badRequest, notFound } from '../errors.js';
import type { ContainerCommand, ContainerRuntime } from '../runtime/container-runtime.js';
import type { InstanceLogs } from '../runtime/instance-logs.js';
import type { BridgeNetworks } from '../network/bridge-networks.js';
import type { ProcessRunner } from '../process/run.js';
import { instanceLogRoutes } from '../runtime/instance-logs.routes.js';
import type { StorageDriver } from '../storage/storage-driver.js';
import { storagePoolRoutes } from '../storage/storage-pool.routes.js';
import { storagePublishRoutes } from '../storage/storage-publish.routes.js';
import { templateRoutes } from '../templates/templates.routes.js';
import { type Json, asObject, bool, deviceMap, int, str, stringArray, stringMap, volumeRef } from './body.js';
import type { AgentRoute, AgentStreamRoute } from './http-server.js';

export interface RouteDeps {
  runtime: ContainerRuntime;
  logs: InstanceLogs;
  storage: Readonly<Record<string, StorageDriver>>;
  runner: ProcessRunner;
  /** Managed bridges of this host: static DHCP leases of a container's NICs are written before it starts. */
  networks?: Pick<BridgeNetworks, 'writeInstanceLeases' | 'removeInstanceLeases'>;
  ready(): AgentReady;
}

/** Output kept per stream by exec-simple; more is cut (the websocket exec streams instead). */
const EXEC_OUTPUT_LIMIT = 32 * 1024 * 1024;

export function agentRoutes(deps: RouteDeps): (AgentRoute | AgentStreamRoute)[] {
  const { runtime } = deps;
  const driver = (name: string | undefined): StorageDriver => {
    const d = name ? deps.storage[name] : undefined;
    if (!d) throw notFound(`Unknown storage driver "${name}"`);
    return d;
  };
  const name = (params: Record<string, string>) => params['lxcName'] as string;
  /** The body's `spec`, which must name the container of the URL. */
  const specFor = (params: Record<string, string>, o: Json): AgentInstanceSpec => {
    const spec = decodeSpec(asObject(o['spec'], '"spec"'));
    if (spec.lxcName !== name(params)) throw badRequest(`spec.lxcName "${spec.lxcName}" differs from the URL`);
    return spec;
  };
  const body = (b: unknown) => asObject(b ?? {});

  return [
    { method: 'GET', path: '/ready', handler: async () => deps.ready() },
    { method: 'GET', path: '/instances', handler: () => runtime.list() },
    { method: 'GET', path: '/instances/:lxcName', handler: ({ params }) => runtime.summary(name(params)) },
    {
      method: 'POST',
      path: '/instances/:lxcName/start',
      handler: async ({ params, body: b }) => {
        const spec = specFor(params, body(b));
        deps.networks?.writeInstanceLeases(spec);
        return runtime.start(spec);
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/stop',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        await runtime.stop(name(params), { force: bool(o, 'force', false), timeoutSec: int(o, 'timeoutSec', -1) });
      },
    },
    { method: 'POST', path: '/instances/:lxcName/freeze', handler: async ({ params }) => runtime.freeze(name(params)) },
    { method: 'POST', path: '/instances/:lxcName/unfreeze', handler: async ({ params }) => runtime.unfreeze(name(params)) },
    ...instanceLogRoutes(deps.logs),
    {
      method: 'POST',
      path: '/instances/:lxcName/devices/check',
      handler: async ({ params, body: b }) => {
        const spec = specFor(params, body(b));
        runtime.checkDevices(spec);
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/devices/hotplug',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        const spec = specFor(params, o);
        await runtime.hotplugDisks(spec, { add: stringArray(o, 'add'), remove: stringArray(o, 'remove') });
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/nics/hotplug',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        const spec = specFor(params, o);
        const remove = (Array.isArray(o['remove']) ? (o['remove'] as unknown[]) : []).map((x) => {
          const r = asObject(x, '"remove[]"');
          return { name: str(r, 'name', true) ?? '', hostName: str(r, 'hostName', true) ?? '' };
        });
        for (const r of remove) if (!/^[A-Za-z0-9_.@:-]{0,15}$/.test(r.name) || !/^[A-Za-z0-9_.@:-]{0,15}$/.test(r.hostName)) throw badRequest('Invalid interface name');
        deps.networks?.writeInstanceLeases(spec);
        return { volatile: await runtime.hotplugNics(spec, { add: stringArray(o, 'add'), remove }) };
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/limits',
      handler: async ({ params, body: b }) => runtime.applyLimits(name(params), stringMap(body(b), 'config')),
    },
    { method: 'GET', path: '/instances/:lxcName/state', handler: ({ params }) => runtime.state(name(params)) },
    {
      // Many states in one answer (lxc list): each is read from /proc without spawning, so one by one is quick.
      method: 'POST',
      path: '/instance-states',
      handler: async ({ body: b }) => {
        const o = body(b);
        if (o['active'] === true) return { states: await runtime.activeStates() } satisfies AgentInstanceStatesResult;
        const states: AgentInstanceStatesResult['states'] = {};
        for (const n of stringArray(o, 'lxcNames')) states[n] = await runtime.state(n).catch(() => null);
        return { states } satisfies AgentInstanceStatesResult;
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/rename',
      handler: async ({ params, body: b }) => runtime.rename(name(params), str(body(b), 'newLxcName')),
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/delete',
      handler: async ({ params, body: b }) => {
        // The runtime refuses a running container; only after that does its volume go (dir driver).
        await runtime.delete(name(params));
        deps.networks?.removeInstanceLeases(name(params));
        const o = body(b);
        if (o['volume'] !== undefined) {
          const volume = decodeVolume(o);
          await driver(volume.driver ?? 'dir').deleteVolume({ volume });
        }
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/exec-simple',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        const stdin = str(o, 'stdin', true);
        const cmd = await runtime.exec(name(params), {
          command: stringArray(o, 'command'),
          env: stringMap(o, 'env', true),
          cwd: str(o, 'cwd', true) ?? '',
          uid: int(o, 'uid', 0),
          gid: int(o, 'gid', 0),
          timeoutSec: int(o, 'timeoutSec', 0),
        });
        return collect(cmd, stdin);
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/image/unpack',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        return driver(params['driver']).unpackImage({
          poolSource: str(o, 'poolSource'),
          fingerprint: str(o, 'fingerprint'),
          imageFile: str(o, 'imageFile'),
          rootfsFile: str(o, 'rootfsFile', true),
        });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/image/delete',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        await driver(params['driver']).deleteImage({ poolSource: str(o, 'poolSource'), fingerprint: str(o, 'fingerprint') });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/volume/create',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        const from = o['fromImage'] === undefined ? undefined : asObject(o['fromImage'], '"fromImage"');
        return driver(params['driver']).createVolume({
          volume: decodeVolume(o),
          fromImage: from
            ? { fingerprint: str(from, 'fingerprint'), imageFile: str(from, 'imageFile', true), rootfsFile: str(from, 'rootfsFile', true) }
            : undefined,
        });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/volume/delete',
      handler: async ({ params, body: b }) => driver(params['driver']).deleteVolume({ volume: decodeVolume(body(b)) }),
    },
    {
      method: 'POST',
      path: '/storage/:driver/volume/rename',
      handler: async ({ params, body: b }) => {
        const o = body(b);
        await driver(params['driver']).renameVolume({ volume: decodeVolume(o), newName: str(o, 'newName') });
      },
    },
    ...storagePoolRoutes(deps.runner),
    ...storagePublishRoutes(deps.storage),
    ...templateRoutes(),
  ];
}

function decodeSpec(o: Json): AgentInstanceSpec {
  let idmap: AgentInstanceSpec['idmap'] = null;
  if (o['idmap'] !== null && o['idmap'] !== undefined) {
    const m = asObject(o['idmap'], '"idmap"');
    idmap = { uidBase: int(m, 'uidBase'), gidBase: int(m, 'gidBase'), size: int(m, 'size') };
    if (idmap.size < 1 || idmap.uidBase < 1 || idmap.gidBase < 1) throw badRequest('Invalid idmap');
  }
  return {
    name: str(o, 'name'),
    project: str(o, 'project'),
    lxcName: str(o, 'lxcName'),
    rootfsPath: str(o, 'rootfsPath'),
    architecture: str(o, 'architecture', true) ?? '',
    config: stringMap(o, 'config', true),
    devices: deviceMap(o, 'devices'),
    idmap,
  };
}

function decodeVolume(o: Json): AgentVolumeRef {
  return volumeRef(o, 'volume');
}

/** Feeds stdin, buffers stdout/stderr (each up to EXEC_OUTPUT_LIMIT) and waits for the exit code. */
async function collect(cmd: ContainerCommand, stdin: string | undefined): Promise<AgentExecResult> {
  const read = (stream: NodeJS.ReadableStream) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        if (size < EXEC_OUTPUT_LIMIT) chunks.push(c.subarray(0, EXEC_OUTPUT_LIMIT - size));
        size += c.length;
      });
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      stream.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const stdout = read(cmd.stdout);
  const stderr = read(cmd.stderr);
  cmd.stdin.on('error', () => undefined); // The command may exit without reading its input.
  cmd.stdin.end(stdin ?? '');
  const [exitCode, out, err] = await Promise.all([cmd.exited, stdout, stderr]);
  return { exitCode, stdout: out, stderr: err };
}
