// The daemon's snapshot housekeeping, as LXD's once-a-minute tasks: scheduled snapshots (`snapshots.schedule`, of
// running instances, or of stopped ones too with `snapshots.schedule.stopped=true`) and removal of expired
// snapshots and backups. Each member looks after the instances it holds. LXDTS_SNAPSHOT_TICK_MS shortens the check interval
// (tests); schedules still fire at most once per minute.
import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { localMember } from '../cluster/local-member.js';
import { OperationsService } from '../operations/operations.service.js';
import { isTrue } from '../projects/config-validators.js';
import { InstanceBackupsRepository } from './instance-backups.repository.js';
import { InstanceBackupsService } from './instance-backups.service.js';
import { InstanceSnapshotsRepository } from './instance-snapshots.repository.js';
import { InstanceSnapshotsService } from './instance-snapshots.service.js';
import { lxcNameOf } from './instance-expansion.js';
import { InstancesService } from './instances.service.js';
import { InstancePowerService } from './instance-power.service.js';
import { scheduleDue } from './snapshot-schedule.js';

const MINUTE = 60_000;

@Injectable()
export class InstanceSnapshotTasks implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private lastMinute = Math.floor(Date.now() / MINUTE);
  private running: Promise<void> | null = null;

  constructor(
    private readonly power: InstancePowerService,
    private readonly instances: InstancesService,
    private readonly snapshots: InstanceSnapshotsService,
    private readonly repo: InstanceSnapshotsRepository,
    private readonly operations: OperationsService,
    private readonly backups: InstanceBackupsService,
    private readonly backupsRepo: InstanceBackupsRepository,
  ) {}

  onApplicationBootstrap(): void {
    // `@startup` in snapshots.schedule: a snapshot each time the instance starts (not waited for).
    this.power.onStarted((row, config) => {
      const parts = (config['snapshots.schedule'] ?? '').split(',').map((p) => p.trim());
      if (!parts.includes('@startup')) return;
      void this.await(() => this.snapshots.create(row.project, row.name, { name: '', stateful: false }, undefined));
    });
    const tick = Number(process.env['LXDTS_SNAPSHOT_TICK_MS']) || 0;
    const every = tick > 0 ? tick : MINUTE;
    const start = () => {
      this.timer = setInterval(() => this.tick(), every);
      this.timer.unref();
    };
    // Minute by minute just after each minute starts (or at once with a test interval).
    if (tick > 0) start();
    else this.timer = setTimeout(() => (this.tick(), start()), MINUTE - (Date.now() % MINUTE) + 500).unref();
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
  }

  /** One check (never two at once): expired snapshots go, then what the new minute schedules is taken. */
  tick(now = new Date()): Promise<void> {
    if (this.running) return this.running;
    this.running = this.check(now)
      .catch(() => undefined)
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async check(now: Date): Promise<void> {
    for (const e of await this.repo.expired(now.toISOString())) {
      await this.await(() => this.snapshots.delete(e.project, e.instance, e.snapshot, undefined));
    }
    for (const e of await this.backupsRepo.expired(now.toISOString())) {
      await this.await(() => this.backups.delete(e.project, e.instance, e.backup, undefined));
    }
    const minute = Math.floor(now.getTime() / MINUTE);
    if (minute <= this.lastMinute) return;
    this.lastMinute = minute;
    const at = new Date(minute * MINUTE);
    for (const row of await this.instances.repo.list(null)) {
      if (this.instances.clustered && row.nodeId !== localMember.nodeId) continue;
      const { config } = await this.instances.expanded(row);
      const schedule = config['snapshots.schedule'] ?? '';
      if (schedule === '' || !scheduleDue(schedule, at)) continue;
      const status = (await this.instances.statusOf(lxcNameOf(row.project, row.name))).status;
      if (status !== 'Running' && status !== 'Frozen' && !isTrue(config['snapshots.schedule.stopped'])) continue;
      await this.await(() => this.snapshots.create(row.project, row.name, { name: '', stateful: false }, undefined));
    }
  }

  /** Starts one operation and waits for it; a failure only skips that one. */
  private async await(start: () => Promise<{ id: string }>): Promise<void> {
    try {
      const op = await start();
      await this.operations.wait(op.id, 600);
    } catch {
      // The next check tries again (an expired snapshot) or the next minute does (a schedule).
    }
  }
}
