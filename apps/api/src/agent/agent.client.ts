// The API's typed client for the host agent: HTTP/1.1 + JSON over $LXD_DIR/agent.socket, keep-alive.
// One method per agent endpoint; a failed call throws AgentRequestError with the agent's status and code.
import { Agent, type IncomingMessage, request } from 'node:http';
import type { Readable } from 'node:stream';
import type {
  AgentTemplatesApplyRequest,
  AgentTemplatesApplyResult,
  AgentVolumeCopyRequest,
  AgentVolumeQuotaRequest,
  AgentVolumeRefreshRequest,
  AgentVolumeRefreshResult,
  AgentVolumeRef,
  AgentVolumeUsageResult,
  AgentVolumeImageExportRequest,
  AgentVolumeImageExportResult,
} from '@lxdts/api-types';
import {
  AGENT_FILE_INFO_HEADER,
  type AgentFileInfo,
  type AgentFilePushRequest,
  type AgentFilePushResult,
  type AgentFileRequest,
  type AgentLogList,
  type AgentBridgeLease,
  type AgentBridgeNetworkSpec,
  type AgentBtrfsPoolCreateRequest,
  type AgentBtrfsPoolCreated,
  type AgentBtrfsPoolRequest,
  type AgentPoolCreateRequest,
  type AgentPoolCreated,
  type AgentPoolDeleteRequest,
  type AgentPoolResourcesRequest,
  type ResourcesStoragePool,
  agentLogPath,
} from '@lxdts/api-types';
import { type AgentConsoleConnection, openAgentConsole } from '../console/agent-console.connection.js';
import { type AgentExecConnection, openAgentExec } from '../exec/agent-exec.connection.js';
import type {
  AgentConsoleStart,
  AgentExecStart,
  AgentErrorBody,
  AgentErrorCode,
  AgentExecRequest,
  AgentExecResult,
  AgentImageDeleteRequest,
  AgentImageUnpackRequest,
  AgentImageUnpackResult,
  AgentInstanceDeleteRequest,
  AgentInstanceSpec,
  AgentInstanceState,
  AgentInstanceStatesRequest,
  AgentBackupExportRequest,
  AgentBackupImportRequest,
  AgentSnapshotRenameRequest,
  AgentSnapshotRequest,
  AgentInstanceStatesResult,
  AgentInstanceSummary,
  AgentReady,
  AgentStartResult,
  AgentStopRequest,
  AgentVolumeCreateRequest,
  AgentVolumeCreateResult,
  AgentVolumeDeleteRequest,
  AgentVolumeRenameRequest,
} from '@lxdts/api-types';

export class AgentRequestError extends Error {
  constructor(
    /** The agent's HTTP status; 503 when the agent could not be reached. */
    readonly status: number,
    readonly code: AgentErrorCode | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'AgentRequestError';
  }
}

export interface AgentCallOptions {
  /** Give up after this long (the agent may still finish the work). Default: no limit. */
  timeoutMs?: number;
}

const enc = encodeURIComponent;

class StaleConnectionError extends Error {}

export class AgentClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(readonly socketPath: string) {}

  ready(options: AgentCallOptions = { timeoutMs: 5_000 }): Promise<AgentReady> {
    return this.call('GET', '/ready', undefined, options);
  }

  /** Every container under the agent's lxcpath, running or not (for the daemon's reconcile at start). */
  listInstances(): Promise<AgentInstanceSummary[]> {
    return this.call('GET', '/instances');
  }

  /** One container's status and pid (Stopped when unknown). */
  instance(lxcName: string): Promise<AgentInstanceSummary> {
    return this.call('GET', `/instances/${enc(lxcName)}`);
  }

  start(spec: AgentInstanceSpec, options?: AgentCallOptions): Promise<AgentStartResult> {
    return this.call('POST', `/instances/${enc(spec.lxcName)}/start`, { spec }, options);
  }

  async stop(lxcName: string, req: AgentStopRequest, options?: AgentCallOptions): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/stop`, req, options);
  }

  async freeze(lxcName: string): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/freeze`);
  }

  /** The files of the container's log directory (lxc.log, console.log, exec record-output files), by name. */
  async listLogs(lxcName: string): Promise<string[]> {
    return (await this.call<AgentLogList>('GET', agentLogPath(lxcName))).files;
  }

  /** One log file's bytes as they are on disk (a body to consume or destroy); 404 `not_found` when absent. */
  openLog(lxcName: string, file: string): Promise<IncomingMessage> {
    return this.openStream('GET', agentLogPath(lxcName, file));
  }

  /** Empties a log file (the console log); nothing when absent. */
  async clearLog(lxcName: string, file: string): Promise<void> {
    await this.call('POST', `${agentLogPath(lxcName, file)}/clear`);
  }

  /** LXD's dir pool layout under `source` (created when missing); what it made, for `undoCreateDirPool`. */
  async createDirPool(req: AgentPoolCreateRequest): Promise<AgentPoolCreated> {
    return this.call<AgentPoolCreated>('POST', '/storage/dir/pool/create', req);
  }

  /** Takes back exactly what `createDirPool` made (a pool creation that failed afterwards). */
  async undoCreateDirPool(created: AgentPoolCreated): Promise<void> {
    await this.call('POST', '/storage/dir/pool/undo-create', { created });
  }

  /** Removes the pool's layout (and `source` up to `ownedRoot` when the pool owns it). */
  async deleteDirPool(req: AgentPoolDeleteRequest): Promise<void> {
    await this.call('POST', '/storage/dir/pool/delete', req);
  }

  /** statfs of the pool's source. */
  async dirPoolResources(req: AgentPoolResourcesRequest): Promise<ResourcesStoragePool> {
    return this.call<ResourcesStoragePool>('POST', '/storage/dir/pool/resources', req);
  }

  /** A btrfs pool's file system made and mounted (a loop file, a btrfs directory or a block device). */
  createBtrfsPool(req: AgentBtrfsPoolCreateRequest): Promise<AgentBtrfsPoolCreated> {
    return this.call<AgentBtrfsPoolCreated>('POST', '/storage/btrfs/pool/create', req, { timeoutMs: 0 });
  }

  /** Mounts a btrfs pool unless it is mounted (daemon start). */
  async mountBtrfsPool(req: AgentBtrfsPoolRequest): Promise<void> {
    await this.call('POST', '/storage/btrfs/pool/mount', req);
  }

  /** Unmounts a btrfs pool and removes the loop file (`owned`) or the layout in its source directory. */
  async deleteBtrfsPool(req: AgentBtrfsPoolRequest): Promise<void> {
    await this.call('POST', '/storage/btrfs/pool/delete', req, { timeoutMs: 0 });
  }

  async btrfsPoolResources(mountPoint: string): Promise<ResourcesStoragePool> {
    return this.call<ResourcesStoragePool>('POST', '/storage/btrfs/pool/resources', { mountPoint });
  }

  /** A managed bridge's host part made or brought in line with the spec (idempotent). */
  async ensureBridge(spec: AgentBridgeNetworkSpec): Promise<void> {
    await this.call('POST', '/networks/bridge/ensure', spec, { timeoutMs: 60_000 });
  }

  async deleteBridge(name: string): Promise<void> {
    await this.call('POST', `/networks/bridge/${enc(name)}/delete`, {}, { timeoutMs: 60_000 });
  }

  bridgeLeases(name: string): Promise<AgentBridgeLease[]> {
    return this.call('GET', `/networks/bridge/${enc(name)}/leases`);
  }

  /** Removes a log file; 404 `not_found` when absent. */
  async deleteLog(lxcName: string, file: string): Promise<void> {
    await this.call('POST', `${agentLogPath(lxcName, file)}/delete`);
  }

  /** Whether the container's devices can be set up on this host now (400 with the reason when not). */
  async checkDevices(spec: AgentInstanceSpec, options?: AgentCallOptions): Promise<void> {
    await this.call('POST', `/instances/${enc(spec.lxcName)}/devices/check`, { spec }, options);
  }

  /** Disk hot-plug: unmounts `remove` (container paths), then mounts the spec's disk devices named in `add`. */
  async hotplugDisks(spec: AgentInstanceSpec, change: { add: string[]; remove: string[] }): Promise<void> {
    await this.call('POST', `/instances/${enc(spec.lxcName)}/devices/hotplug`, { spec, ...change });
  }

  /** NIC hot-plug: removes `remove` (name inside, veth host side), then adds the spec's NICs named in `add`. */
  async hotplugNics(spec: AgentInstanceSpec, change: { add: string[]; remove: { name: string; hostName: string }[] }): Promise<Record<string, string>> {
    return (await this.call<{ volatile: Record<string, string> }>('POST', `/instances/${enc(spec.lxcName)}/nics/hotplug`, { spec, ...change })).volatile;
  }

  /** Applies `limits.*` to a running container's cgroups. */
  async applyLimits(lxcName: string, req: { config: Record<string, string> }): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/limits`, req);
  }

  async unfreeze(lxcName: string): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/unfreeze`);
  }

  state(lxcName: string, options?: AgentCallOptions): Promise<AgentInstanceState> {
    return this.call('GET', `/instances/${enc(lxcName)}/state`, undefined, options);
  }

  /** The state of each container named, in one request (Stopped for those the agent doesn't know, null if unreadable). */
  /** The state of every container of this host that is not stopped (absent: Stopped). */
  async activeStates(options?: AgentCallOptions): Promise<Record<string, AgentInstanceState | null>> {
    return (await this.call<AgentInstanceStatesResult>('POST', '/instance-states', { active: true } satisfies AgentInstanceStatesRequest, options)).states;
  }

  async states(lxcNames: string[], options?: AgentCallOptions): Promise<Record<string, AgentInstanceState | null>> {
    return (await this.call<AgentInstanceStatesResult>('POST', '/instance-states', { lxcNames } satisfies AgentInstanceStatesRequest, options)).states;
  }

  async rename(lxcName: string, newLxcName: string): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/rename`, { newLxcName });
  }

  /**
   * Removes the container's liblxc config, logs and seccomp policy; with `volume`, then its volume too (only once the
   * container is known stopped: a running one is refused before anything is removed).
   */
  async delete(lxcName: string, req: AgentInstanceDeleteRequest = {}): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/delete`, req);
  }

  execSimple(lxcName: string, req: AgentExecRequest, options?: AgentCallOptions): Promise<AgentExecResult> {
    return this.call('POST', `/instances/${enc(lxcName)}/exec-simple`, req, options);
  }

  unpackImage(req: AgentImageUnpackRequest): Promise<AgentImageUnpackResult> {
    return this.call('POST', `/storage/${enc(req.driver ?? 'dir')}/image/unpack`, req);
  }

  async deleteImage(req: AgentImageDeleteRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.driver ?? 'dir')}/image/delete`, req);
  }

  createVolume(req: AgentVolumeCreateRequest): Promise<AgentVolumeCreateResult> {
    return this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/volume/create`, req);
  }

  async deleteVolume(req: AgentVolumeDeleteRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/volume/delete`, req);
  }

  async renameVolume(req: AgentVolumeRenameRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/volume/rename`, req);
  }

  /** Snapshot operations on a volume (`create`/`delete`/`restore`: dir copies, no time limit). */
  async snapshot(action: 'create' | 'delete' | 'restore', req: AgentSnapshotRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/snapshot/${action}`, req, { timeoutMs: 0 });
  }

  /** LXD's backup tarball of a volume (and snapshots) into a file; no time limit. */
  async exportBackup(req: AgentBackupExportRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/backup/export`, req, { timeoutMs: 0 });
  }

  async importBackup(req: AgentBackupImportRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/backup/import`, req, { timeoutMs: 0 });
  }

  async renameSnapshot(req: AgentSnapshotRenameRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/snapshot/rename`, req);
  }

  /** A new volume as a copy of another (lxc copy); no time limit, a big rootfs takes a while. */
  copyVolume(req: AgentVolumeCopyRequest): Promise<AgentVolumeCreateResult> {
    return this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/volume/copy`, req);
  }

  /** Packs a volume into a unified image tarball (lxc publish). */
  exportImage(req: AgentVolumeImageExportRequest): Promise<AgentVolumeImageExportResult> {
    return this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/volume/export-image`, req);
  }

  /** Brings an existing volume in line with another (lxc copy --refresh); no time limit. */
  refreshVolume(req: AgentVolumeRefreshRequest): Promise<AgentVolumeRefreshResult> {
    return this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/volume/refresh`, req, { timeoutMs: 0 });
  }

  volumeUsage(volume: AgentVolumeRef): Promise<AgentVolumeUsageResult> {
    return this.call('POST', `/storage/${enc(volume.driver ?? 'dir')}/volume/usage`, { volume }, { timeoutMs: 0 });
  }

  /** Sets the volume's size limit (root disk `size`; 0: none). */
  async setQuota(req: AgentVolumeQuotaRequest): Promise<void> {
    await this.call('POST', `/storage/${enc(req.volume.driver ?? 'dir')}/volume/quota`, req, { timeoutMs: 0 });
  }

  /** Renders the image templates of an instance volume for the given triggers (before a start). */
  applyTemplates(lxcName: string, req: AgentTemplatesApplyRequest): Promise<AgentTemplatesApplyResult> {
    return this.call('POST', `/instances/${enc(lxcName)}/templates/apply`, req);
  }

  // Files: streamed both ways, each on a connection of its own (a transfer may be long and cannot be retried).

  /** lstat of a path inside a container's rootfs (a final symlink is described, not followed). */
  statFile(lxcName: string, req: AgentFileRequest): Promise<AgentFileInfo> {
    return this.call('POST', `/instances/${enc(lxcName)}/files/stat`, req);
  }

  /** Removes a file, a symlink or an empty directory inside a container's rootfs. */
  async deleteFile(lxcName: string, req: AgentFileRequest): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/files/delete`, req);
  }

  /**
   * Opens a path inside a container's rootfs: its info and a body the caller consumes or destroys — the file's
   * bytes, a JSON array of entry names (directory) or the link target (symlink).
   */
  async readFile(lxcName: string, req: AgentFileRequest): Promise<{ info: AgentFileInfo; body: IncomingMessage }> {
    const query = new URLSearchParams({ rootfsPath: req.rootfsPath, path: req.path });
    const res = await this.openStream('GET', `/instances/${enc(lxcName)}/files?${query}`);
    try {
      return { info: JSON.parse(String(res.headers[AGENT_FILE_INFO_HEADER])) as AgentFileInfo, body: res };
    } catch {
      res.destroy();
      throw new AgentRequestError(502, 'internal', 'Agent sent no file info');
    }
  }

  /** Creates or writes a file, a directory or a symlink; `content` (file bytes, link target) is streamed through. */
  async pushFile(lxcName: string, req: AgentFilePushRequest, content?: Readable): Promise<AgentFilePushResult> {
    const query = new URLSearchParams({
      rootfsPath: req.rootfsPath,
      path: req.path,
      type: req.type,
      write: req.write,
      uid: String(req.uid),
      gid: String(req.gid),
      mode: String(req.mode),
    });
    const res = await this.openStream('POST', `/instances/${enc(lxcName)}/files?${query}`, content);
    const text = await readAll(res);
    try {
      return JSON.parse(text) as AgentFilePushResult;
    } catch {
      throw new AgentRequestError(502, 'internal', `Agent sent invalid JSON for POST /instances/${lxcName}/files`);
    }
  }

  /**
   * One request whose body (if any) is piped from `content` and whose 2xx response is handed over unread; other
   * statuses become AgentRequestError. An answer that comes before the upload is complete (a refusal) stops it.
   */
  private openStream(method: 'GET' | 'POST', path: string, content?: Readable): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      const req = request(
        {
          socketPath: this.socketPath,
          agent: false,
          method,
          path,
          // An upload asks for keep-alive: should the agent answer early (a refusal), it then reads and drops the
          // rest of the body instead of closing the connection under our writes (EPIPE, and the answer lost).
          headers: content ? { 'Content-Type': 'application/octet-stream', Connection: 'keep-alive' } : { 'Content-Length': 0 },
        },
        (res) => {
          if (content && !content.readableEnded) {
            content.unpipe(req);
            req.end();
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            settle(() => resolve(res));
            return;
          }
          readAll(res).then(
            (text) => {
              let e: Partial<AgentErrorBody> = {};
              try {
                e = JSON.parse(text) as Partial<AgentErrorBody>;
              } catch {
                // Not JSON: keep the generic message.
              }
              settle(() => reject(new AgentRequestError(status, e.code ?? 'internal', e.error ?? `Agent answered ${status} for ${method} ${path}`)));
            },
            (err: Error) => settle(() => reject(new AgentRequestError(502, 'internal', `Agent response failed: ${err.message}`))),
          );
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        settle(() => {
          if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
            reject(new AgentRequestError(503, 'unavailable', `The host agent is not reachable on ${this.socketPath}: ${err.code}`));
          } else reject(new AgentRequestError(502, 'internal', `Agent request failed: ${err.message}`));
        });
      });
      if (content) {
        // The uploader went away: abort the agent's side too (it closes the file it was writing).
        content.once('error', (err) => req.destroy(err));
        content.once('aborted', () => req.destroy(new Error('upload aborted')));
        content.pipe(req);
      } else req.end();
    });
  }

  /**
   * Starts a command in a running container with its streams relayed (the websocket exec): an upgraded connection
   * of its own. Rejects with AgentRequestError when the agent refuses (409 `conflict`: not running, frozen).
   */
  execStream(lxcName: string, start: AgentExecStart): Promise<AgentExecConnection> {
    return openAgentExec(this.socketPath, lxcName, start);
  }

  /**
   * Attaches to a running container's console (the console websocket): an upgraded connection of its own. Rejects
   * with AgentRequestError when the agent refuses (409 `conflict`: not running, frozen, console already in use).
   */
  consoleStream(lxcName: string, start: AgentConsoleStart): Promise<AgentConsoleConnection> {
    return openAgentConsole(this.socketPath, lxcName, start);
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, options: AgentCallOptions = {}): Promise<T> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    try {
      return await this.send<T>(method, path, data, options);
    } catch (err) {
      // A kept-alive connection the agent had just closed: the request never reached it, send it again once.
      if (err instanceof StaleConnectionError) return this.send<T>(method, path, data, options);
      throw err;
    }
  }

  private send<T>(method: string, path: string, data: string | undefined, options: AgentCallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path,
          headers: data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new AgentRequestError(502, 'internal', `Agent response failed: ${err.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              reject(new AgentRequestError(502, 'internal', `Agent sent invalid JSON for ${method} ${path}`));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve(parsed as T);
              return;
            }
            const e = parsed as Partial<AgentErrorBody>;
            reject(new AgentRequestError(status, e.code ?? 'internal', e.error ?? `Agent answered ${status} for ${method} ${path}`));
          });
        },
      );
      if (options.timeoutMs) {
        req.setTimeout(options.timeoutMs, () =>
          req.destroy(new AgentRequestError(504, 'timeout', `Agent did not answer ${method} ${path} within ${options.timeoutMs} ms`)),
        );
      }
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof AgentRequestError) reject(err);
        else if (req.reusedSocket && err.code === 'ECONNRESET') reject(new StaleConnectionError());
        else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
          reject(new AgentRequestError(503, 'unavailable', `The host agent is not reachable on ${this.socketPath}: ${err.code}`));
        } else reject(new AgentRequestError(502, 'internal', `Agent request failed: ${err.message}`));
      });
      req.end(data);
    });
  }
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}
