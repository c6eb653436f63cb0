// The instance console (LXD 5.0.2 lxd/instance_console.go, behaviour checked against the real daemon):
//   - POST /1.0/instances/{name}/console {width, height, type}: the body first (400), then the instance (404), the
//     type (`vga` is for virtual machines: 400), then its state (400 "Instance is not running" / "Instance is
//     frozen"); an operation of class `websocket`, "Showing console", metadata {fds: {"0", "control"}}, resources
//     {containers, instances}; lifecycle `instance-console` {type}. The agent attaches (lxc-console) once the data
//     socket is connected; ConsoleWebsockets relays. The operation succeeds when the client detaches; a console
//     that cannot be attached (already in use) fails it.
//   - GET …/console: the console log (liblxc's lxc.console.logfile: everything written on /dev/console, attached or
//     not); lifecycle `instance-console-retrieved`.
//   - DELETE …/console: empties it (liblxc keeps appending to the same file); lifecycle `instance-console-reset`.
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Operation } from '@lxdts/api-types';
import { type AgentClient, AgentRequestError } from '../agent/agent.client.js';
import { AGENT_CLIENT } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { OperationWebsocketHub } from '../exec/operation-websocket.hub.js';
import { ApiError, badRequest, notFound } from '../http/api-error.js';
import { INSTANCE_TARGETS, type InstanceTarget, type InstanceTargetResolver } from '../instances/instance-target.js';
import { OperationsService } from '../operations/operations.service.js';
import { apiUrl } from '../projects/api-url.js';
import type { AgentConsoleConnection } from './agent-console.connection.js';
import { type InstanceConsolePost, consoleType } from './console-request.js';
import { ConsoleWebsockets } from './console-websockets.js';

const CONSOLE_LOG = 'console.log';

@Injectable()
export class ConsoleService {
  constructor(
    @Inject(INSTANCE_TARGETS) private readonly targets: InstanceTargetResolver,
    @Inject(AGENT_CLIENT) private readonly agent: AgentClient,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    private readonly hub: OperationWebsocketHub,
  ) {}

  async console(project: string, name: string, post: InstanceConsolePost): Promise<Operation> {
    const target = await this.targets.resolve(project, name);
    const type = consoleType(post);
    // LXD's IsRunning() holds for a frozen container: the frozen check comes second and wins.
    if (target.status === 'Frozen') throw badRequest('Instance is frozen');
    if (target.status !== 'Running') throw badRequest('Instance is not running');

    const sockets = new ConsoleWebsockets();
    let unregister = () => undefined as void;
    const resources = { containers: [apiUrl(['containers', name], project)], instances: [this.targets.url(project, name)] };
    const op = this.operations.start({
      class: 'websocket',
      description: 'Showing console',
      project,
      resources,
      metadata: { fds: sockets.fds() },
      run: async (running) => {
        running.signal.addEventListener('abort', () => sockets.close());
        try {
          await this.session(target, post, sockets);
        } catch (err) {
          sockets.close();
          throw err;
        } finally {
          unregister();
          sockets.hangUp();
        }
      },
    });
    unregister = this.hub.register(op.id, sockets);
    this.events.lifecycle('instance-console', this.targets.url(project, name), project, undefined, { type });
    return op;
  }

  private async session(target: InstanceTarget, post: InstanceConsolePost, sockets: ConsoleWebsockets): Promise<void> {
    if ((await sockets.waitForData()) === 'detached') return;
    // Refusals (AgentRequestError: "The console is already in use", "Instance is not running") fail the operation.
    const conn: AgentConsoleConnection = await this.agent.consoleStream(target.lxcName, { width: Math.max(0, post.width), height: Math.max(0, post.height) });
    const exit = await sockets.run(conn);
    // The console went away by itself (the container stopped): as LXD, the operation ends when the client leaves.
    if (!exit.detached) await sockets.waitForControlClosed();
  }

  /** GET …/console: the console log's bytes as they are (raw terminal output); empty when there is none yet. */
  async log(project: string, name: string): Promise<Readable | Buffer> {
    const target = await this.targets.resolve(project, name);
    let content: Readable | Buffer;
    try {
      content = await this.agent.openLog(target.lxcName, CONSOLE_LOG);
    } catch (err) {
      if (!(err instanceof AgentRequestError && err.code === 'not_found')) throw err;
      content = Buffer.alloc(0);
    }
    this.events.lifecycle('instance-console-retrieved', this.targets.url(project, name), project);
    return content;
  }

  /** DELETE …/console: empties the console log. */
  async clearLog(project: string, name: string): Promise<void> {
    let target: InstanceTarget;
    try {
      target = await this.targets.resolve(project, name);
    } catch (err) {
      // LXD's message for this endpoint.
      if (err instanceof ApiError && err.status === 404) throw notFound(`Failed to fetch instance "${name}" in project "${project}": Instance not found`);
      throw err;
    }
    await this.agent.clearLog(target.lxcName, CONSOLE_LOG);
    this.events.lifecycle('instance-console-reset', this.targets.url(project, name), project);
  }
}
