// Start, stop, restart, freeze and unfreeze through the agent, the power state remembered in volatile keys, and
// the restore of that state when the daemon starts (LXD: volatile.last_state.power, boot.autostart).
import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AgentInstanceSpec, AgentTemplateTrigger, InstanceStatePut, Operation } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { badRequest } from '../http/api-error.js';
import { OperationsService } from '../operations/operations.service.js';
import { lxcNameOf, rootDisk } from './instance-expansion.js';
import { startedIdmapKeys } from './instance-idmap.js';
import type { InstanceRow } from './instances.repository.js';
import { InstancesService } from './instances.service.js';

/** Values of volatile.apply_template that name templates to render once (others are just cleared). */
const PENDING_TRIGGERS: readonly AgentTemplateTrigger[] = ['create', 'copy', 'rename'];

const DESCRIPTIONS: Record<InstanceStatePut['action'], string> = {
  start: 'Starting instance',
  stop: 'Stopping instance',
  restart: 'Restarting instance',
  freeze: 'Freezing instance',
  unfreeze: 'Unfreezing instance',
};

@Injectable()
export class InstancePowerService {
  /** Told of every start, after it succeeded (`@startup` snapshots). */
  private readonly startedHooks: ((row: InstanceRow, config: Record<string, string>) => void)[] = [];

  constructor(
    private readonly instances: InstancesService,
    private readonly operations: OperationsService,
  ) {}

  onStarted(hook: (row: InstanceRow, config: Record<string, string>) => void): void {
    this.startedHooks.push(hook);
  }

  /** PUT /1.0/instances/{name}/state: checks synchronously what can be checked, then runs in an operation. */
  async change(project: string, name: string, put: InstanceStatePut, identity: Identity): Promise<Operation> {
    const action = put.action;
    if (!(action in DESCRIPTIONS)) throw badRequest(`Unknown action "${action}"`);
    const row = await this.instances.find(project, name);
    const { status } = await this.instances.statusOf(lxcNameOf(row.project, row.name));
    if (action === 'start' && status === 'Frozen') throw badRequest('The instance is paused; unpause (unfreeze) it first');
    return this.operations.start({
      class: 'task',
      description: DESCRIPTIONS[action],
      project,
      resources: this.instances.resources({ project, name }),
      run: async () => {
        switch (action) {
          case 'start':
            if (status === 'Running') throw new Error('The instance is already running');
            return this.start(row, identity);
          case 'stop':
            if (status === 'Stopped') throw new Error('The instance is already stopped');
            return this.stop(row, put.force, put.timeout, identity);
          case 'restart':
            if (status === 'Stopped') throw new Error('The instance is not running');
            await this.stop(row, put.force, put.timeout, undefined, true);
            await this.start(row, undefined);
            this.instances.lifecycle('instance-restarted', row.project, row.name, identity);
            return;
          case 'freeze':
            if (status !== 'Running') throw new Error('The instance is not running');
            await this.instances.agent.freeze(lxcNameOf(row.project, row.name));
            this.instances.lifecycle('instance-paused', row.project, row.name, identity);
            return;
          case 'unfreeze':
            if (status !== 'Frozen') throw new Error('The instance is not frozen');
            await this.instances.agent.unfreeze(lxcNameOf(row.project, row.name));
            this.instances.lifecycle('instance-resumed', row.project, row.name, identity);
            return;
        }
      },
    });
  }

  async start(row: InstanceRow, identity: Identity | undefined): Promise<void> {
    row = await this.fixStaticMacs(row);
    const spec = await this.spec(row);
    // Image templates: the pending trigger (create/copy) once, then the `start` ones, rendered before every start.
    const pending = row.config['volatile.apply_template'];
    const once = PENDING_TRIGGERS.find((t) => t === pending);
    await this.instances.agent.applyTemplates(spec.lxcName, {
      rootfsPath: spec.rootfsPath,
      triggers: once ? [once, 'start'] : ['start'],
      instance: { name: row.name, architecture: row.architecture, ephemeral: row.ephemeral, privileged: spec.idmap === null },
      config: spec.config,
      devices: spec.devices,
    });
    const result = await this.instances.agent.start(spec);
    await this.instances.repo.transaction(async (tx) => {
      await this.instances.repo.setConfig(
        row.id,
        { ...result.volatile, ...startedIdmapKeys(spec.idmap), 'volatile.last_state.power': 'RUNNING', ...(pending ? { 'volatile.apply_template': '' } : {}) },
        tx,
      );
      await this.instances.repo.touch(row.id, tx);
    });
    if (identity) this.instances.lifecycle('instance-started', row.project, row.name, identity);
    for (const hook of this.startedHooks) hook(row, spec.config);
  }

  /** Graceful unless `force`; timeout -1 waits as long as it takes. Ephemeral instances are deleted afterwards. */
  async stop(row: InstanceRow, force: boolean, timeout: number, identity: Identity | undefined, restarting = false): Promise<void> {
    const lxcName = lxcNameOf(row.project, row.name);
    await this.instances.agent.stop(lxcName, { force, timeoutSec: force ? 0 : timeout });
    if (restarting) return;
    await this.instances.repo.setConfig(row.id, { 'volatile.last_state.power': 'STOPPED' });
    this.instances.lifecycle(force ? 'instance-stopped' : 'instance-shutdown', row.project, row.name, identity);
    if (row.ephemeral) await this.instances.destroy(row, identity);
  }

  /** At daemon start: start what was running when the daemon stopped (and boot.autostart=true), if not running. */
  async restore(log: (msg: string) => void): Promise<void> {
    const running = new Set((await this.instances.agent.listInstances()).filter((s) => s.status !== 'Stopped').map((s) => s.lxcName));
    for (const row of await this.instances.repo.list(null)) {
      if (running.has(lxcNameOf(row.project, row.name))) continue;
      const { config } = await this.instances.expanded(row);
      const autostart = config['boot.autostart'];
      const wasRunning = row.config['volatile.last_state.power'] === 'RUNNING';
      if (autostart === 'false' || (!wasRunning && autostart !== 'true')) continue;
      await this.start(row, undefined).catch((err: Error) => log(`Failed to start instance ${row.project}/${row.name}: ${err.message}`));
    }
  }

  /** Daemon shutdown: stops running instances (graceful, then forced) and keeps their last state RUNNING. */
  async shutdownAll(timeoutSec: number): Promise<void> {
    const running = (await this.instances.agent.listInstances()).filter((s) => s.status !== 'Stopped');
    await Promise.all(
      running.map(async (s) => {
        await this.instances.agent.stop(s.lxcName, { force: false, timeoutSec }).catch(() => this.instances.agent.stop(s.lxcName, { force: true, timeoutSec: 0 }));
      }),
    );
  }

  /** What the agent needs to start the container (no status check). */
  /**
   * A NIC with a static `ipv4.address` on a managed network needs its MAC before the container starts (dnsmasq's
   * dhcp-host line names it): one is chosen and kept as `volatile.<nic>.hwaddr` when there is none yet.
   */
  private async fixStaticMacs(row: InstanceRow): Promise<InstanceRow> {
    const { devices } = await this.instances.expanded(row);
    const missing: Record<string, string> = {};
    for (const [dev, d] of Object.entries(devices)) {
      if (d['type'] !== 'nic' || !d['network'] || !d['ipv4.address'] || d['hwaddr'] || row.config[`volatile.${dev}.hwaddr`]) continue;
      const bytes = randomBytes(3);
      missing[`volatile.${dev}.hwaddr`] = `00:16:3e:${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    }
    if (Object.keys(missing).length === 0) return row;
    await this.instances.repo.setConfig(row.id, missing);
    return { ...row, config: { ...row.config, ...missing } };
  }

  private async spec(row: InstanceRow): Promise<AgentInstanceSpec> {
    return this.instances.agentSpec(row, await this.instances.expanded(row));
  }
}
