// POST /1.0/instances/{name}/exec (LXD 5.0.2 lxd/instance_exec.go): validation and environment as LXD, then an
// operation that runs the command through the host agent's exec stream (AgentClient.execStream):
//   - wait-for-websocket: class `websocket`, metadata {command, environment, fds, interactive}; the command starts
//     when the client has connected its websockets (ExecWebsockets);
//   - otherwise: class `task`, no input, output discarded or, with record-output, written to
//     logs/<instance>/exec_<operation>.stdout|stderr (metadata.output).
// Either way the exit code lands in metadata.return; the operation succeeds whatever the code, except 127
// ("Command not found") and 126 ("Command not executable"), which fail it as LXD's lxcCmd.Wait does.
import { createWriteStream, lstatSync, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { AgentExecStart, InstanceExecPost, Operation } from '@lxdts/api-types';
import type { AgentClient } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { AGENT_CLIENT, DAEMON_PATHS } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { badRequest } from '../http/api-error.js';
import { INSTANCE_TARGETS, type InstanceTarget, type InstanceTargetResolver } from '../instances/instance-target.js';
import { OperationsService, type RunningOperation } from '../operations/operations.service.js';
import { apiUrl } from '../projects/api-url.js';
import type { AgentExecConnection } from './agent-exec.connection.js';
import { execCwd, execEnvironment } from './exec-request.js';
import { ExecWebsockets } from './exec-websockets.js';
import { OperationWebsocketHub } from './operation-websocket.hub.js';

/** Exit statuses LXD turns into operation errors (lxd/instance/drivers/driver_lxc_cmd.go). */
const EXIT_ERRORS: Record<number, string> = { 127: 'Command not found', 126: 'Command not executable' };

@Injectable()
export class ExecService {
  constructor(
    @Inject(INSTANCE_TARGETS) private readonly targets: InstanceTargetResolver,
    @Inject(AGENT_CLIENT) private readonly agent: AgentClient,
    @Inject(DAEMON_PATHS) private readonly paths: DaemonPaths,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    private readonly hub: OperationWebsocketHub,
  ) {}

  async exec(project: string, name: string, post: InstanceExecPost, _identity: Identity): Promise<Operation> {
    if (name.includes('/')) throw badRequest('Invalid instance name');
    const target = await this.targets.resolve(project, name);
    if (target.status === 'Frozen') throw badRequest('Instance is frozen');
    if (target.status !== 'Running') throw badRequest('Instance is not running');
    if (post.command.length === 0) throw badRequest('No command specified');

    const environment = execEnvironment(post, target.expandedConfig, (p) => existsNoFollow(join(target.rootfsPath, p)));
    const start: AgentExecStart = {
      command: post.command,
      env: environment,
      cwd: execCwd(post, environment),
      uid: post.user,
      gid: post.group,
      interactive: post['wait-for-websocket'] && post.interactive,
      width: post.width,
      height: post.height,
    };
    // LXD lists both URLs for containers; the keys come out sorted as Go marshals the map.
    const resources = { containers: [apiUrl(['containers', name], project)], instances: [this.targets.url(project, name)] };
    if (post['wait-for-websocket']) return this.withWebsockets(target, start, resources);
    return this.operations.start({
      class: 'task',
      description: 'Executing command',
      project,
      resources,
      metadata: null,
      run: (op) => this.runDetached(op, target, start, post['record-output']),
    });
  }

  private withWebsockets(target: InstanceTarget, start: AgentExecStart, resources: Record<string, string[]>): Operation {
    const sockets = new ExecWebsockets(start.interactive);
    let unregister = () => undefined as void;
    const op = this.operations.start({
      class: 'websocket',
      description: 'Executing command',
      project: target.project,
      resources,
      metadata: { command: start.command, environment: start.env, fds: sockets.fds(), interactive: start.interactive },
      run: async (running) => {
        running.signal.addEventListener('abort', () => sockets.close());
        // Armed while the client connects its websockets: the agent checks the container and gets the process
        // ready now; the command itself runs only on `go`, once the websockets are there (as LXD starts it).
        const armed = this.agent.execStream(target.lxcName, { ...start, armed: true });
        armed.catch(() => undefined);
        let code: number;
        try {
          await sockets.waitForRequired();
          let conn: AgentExecConnection;
          try {
            conn = await armed;
          } catch (err) {
            running.updateMetadata({ return: -1 });
            throw err;
          }
          conn.control({ type: 'go' });
          this.started(target, start);
          code = await sockets.run(conn);
        } catch (err) {
          sockets.close();
          // Not gone: the armed process is dropped without running anything.
          armed.then((c) => c.close(), () => undefined);
          throw err;
        } finally {
          unregister();
        }
        running.updateMetadata({ return: code });
        sockets.hangUp();
        if (EXIT_ERRORS[code]) throw new Error(EXIT_ERRORS[code]);
      },
    });
    unregister = this.hub.register(op.id, sockets);
    return op;
  }

  private async runDetached(op: RunningOperation, target: InstanceTarget, start: AgentExecStart, recordOutput: boolean): Promise<void> {
    const files = recordOutput ? this.outputFiles(target, op.id) : null;
    const metadata: Record<string, unknown> = {};
    try {
      const conn = await this.agent.execStream(target.lxcName, { ...start, interactive: false });
      op.signal.addEventListener('abort', () => conn.close());
      this.started(target, start);
      conn.endStdin();
      conn.attach({
        data: (stream, chunk) => {
          files?.streams[stream - 1]?.write(chunk);
        },
        end: () => undefined,
      });
      const code = await conn.exited;
      if (files) {
        await Promise.all(files.streams.map((s) => new Promise((r) => s.end(r))));
        metadata['output'] = files.urls;
      }
      metadata['return'] = code;
      op.updateMetadata(metadata);
      if (EXIT_ERRORS[code]) throw new Error(EXIT_ERRORS[code]);
    } finally {
      for (const s of files?.streams ?? []) if (!s.closed) s.destroy();
    }
  }

  /** LXD 5.0.2 writes recorded output into the instance's log directory and lists it under /logs. */
  private outputFiles(target: InstanceTarget, opId: string): { streams: WriteStream[]; urls: Record<string, string> } {
    const dir = join(this.paths.varDir, 'logs', target.lxcName);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const names = [`exec_${opId}.stdout`, `exec_${opId}.stderr`];
    const base = apiUrl(['instances', target.name]);
    return {
      streams: names.map((n) => createWriteStream(join(dir, n), { mode: 0o600 })),
      urls: { '1': `${base}/logs/${names[0]}`, '2': `${base}/logs/${names[1]}` },
    };
  }

  /** LXD's instance-exec lifecycle event, sent once the command runs (without a requestor, as LXD's). */
  private started(target: InstanceTarget, start: AgentExecStart): void {
    this.events.lifecycle('instance-exec', this.targets.url(target.project, target.name), target.project, undefined, { command: start.command });
  }
}

/** Whether the container has `path` (the rootfs seen from the host; a symlink counts without being followed). */
function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
