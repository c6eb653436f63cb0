// Instance log files as LXD 5.0.2 serves them under /1.0/instances/{name}/logs (lxd/instance_logs.go): the names
// it accepts (validLogFileName), the list of the instance's log directory, a file's raw bytes, and deletion of
// all but liblxc's log and config. The files live on the host: the agent reads, lists and removes them.
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { type AgentClient, AgentRequestError } from '../agent/agent.client.js';
import { AGENT_CLIENT } from '../daemon/tokens.js';
import { ApiError, badRequest, internalError, notFound } from '../http/api-error.js';
import { lxcNameOf } from './instance-expansion.js';
import { InstancesService } from './instances.service.js';

/** The agent calls this service makes. */
export type InstanceLogsAgent = Pick<AgentClient, 'listLogs' | 'openLog' | 'deleteLog'>;
/** How it finds an instance. */
export type InstanceLogsInstances = Pick<InstancesService, 'find' | 'url'>;

const LOG_AND_CONFIG_FILES = ['lxc.log', 'lxc.conf', 'qemu.log', 'qemu.conf'];
/** Files other parts of LXD write into the log directory: `lxc exec --record-output` style output (exec_<op>.stdout|stderr), migration and snapshot logs. */
const WRITTEN_FILE = /^(migration|snapshot|exec)_/;

/** LXD's validLogFileName: a plain name (no `/`) of liblxc's or qemu's log or config, or of a migration_/snapshot_/exec_ file. */
export function validLogFileName(file: string): boolean {
  if (file.includes('/')) return false;
  return LOG_AND_CONFIG_FILES.includes(file) || WRITTEN_FILE.test(file);
}

export interface LogFile {
  body: Readable | Buffer;
  size: number;
}

function checkName(file: string): void {
  if (!validLogFileName(file)) throw badRequest(`log file name ${file} not valid`);
}

@Injectable()
export class InstanceLogsService {
  constructor(
    @Inject(InstancesService) private readonly instances: InstanceLogsInstances,
    @Inject(AGENT_CLIENT) private readonly agent: InstanceLogsAgent,
  ) {}

  /** URLs of the valid files of the instance's log directory, by name (LXD lists `/1.0/instances/<name>/logs/<file>`). */
  async list(project: string, name: string): Promise<string[]> {
    const lxcName = await this.lxcName(project, name);
    const base = this.instances.url(project, name).replace(/\?.*$/, '');
    const files = await this.agent.listLogs(lxcName).catch(fromAgent);
    return files.filter(validLogFileName).map((f) => `${base}/logs/${f}`);
  }

  /** The file's bytes as they are on disk, and their number. */
  async open(project: string, name: string, file: string): Promise<LogFile> {
    checkName(file);
    const lxcName = await this.lxcName(project, name);
    try {
      const body = await this.agent.openLog(lxcName, file);
      return { body, size: Number(body.headers['content-length'] ?? 0) };
    } catch (err) {
      // A container that never started has no lxc.log yet: `lxc info --show-log` shows it empty.
      if (file === 'lxc.log' && err instanceof AgentRequestError && err.code === 'not_found') return { body: Buffer.alloc(0), size: 0 };
      // LXD answers a missing file with the open error, as an internal error.
      if (err instanceof AgentRequestError && err.code === 'not_found') throw internalError(err.message);
      return fromAgent(err);
    }
  }

  async delete(project: string, name: string, file: string): Promise<void> {
    checkName(file);
    if (file === 'lxc.log' || file === 'lxc.conf') throw badRequest('lxc.log and lxc.conf may not be deleted');
    const lxcName = await this.lxcName(project, name);
    // A missing file is LXD's 404 with the remove error.
    await this.agent.deleteLog(lxcName, file).catch(fromAgent);
  }

  private async lxcName(project: string, name: string): Promise<string> {
    const row = await this.instances.find(project, name);
    return lxcNameOf(row.project, row.name);
  }
}

function fromAgent(err: unknown): never {
  if (!(err instanceof AgentRequestError)) throw err;
  if (err.code === 'not_found') throw notFound(err.message);
  if (err.code === 'bad_request') throw badRequest(err.message);
  if (err.code === 'unavailable') throw new ApiError(503, err.message);
  throw internalError(err.message);
}
