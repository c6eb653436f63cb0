// The one operation runner. Every state change is pushed as an `operation` event: the lxc client waits on those.
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type Operation, type OperationClass, StatusCode, StatusText } from '@lxdts/api-types';
import { ApiError, badRequest, forbidden, notFound } from '../http/api-error.js';
import { EventsService } from '../events/events.service.js';

export interface OperationSpec {
  class: OperationClass;
  description: string;
  project: string;
  resources?: Record<string, string[]>;
  metadata?: Record<string, unknown> | null;
  /** The work; its resolved value (if an object) is merged into the operation metadata. */
  run?: (op: RunningOperation) => Promise<Record<string, unknown> | void>;
  /** Makes the operation cancellable; called on DELETE /1.0/operations/{id}. */
  cancel?: (op: RunningOperation) => Promise<void> | void;
}

/** What the work function of an operation can touch. */
export interface RunningOperation {
  readonly id: string;
  readonly signal: AbortSignal;
  updateMetadata(patch: Record<string, unknown>): void;
}

interface Entry {
  op: Operation;
  project: string;
  spec: OperationSpec;
  abort: AbortController;
  done: Promise<void>;
  settle: () => void;
}

/**
 * Operations kept elsewhere than in this daemon's memory (cluster join tokens live in the replicated database, so
 * every member lists them and any member can revoke them). Project-less: listed whatever project is asked for.
 */
export interface OperationSource {
  list(): Promise<Operation[]>;
  get(id: string): Promise<Operation | undefined>;
  /** Returns false when `id` is not one of this source's operations. */
  cancel(id: string): Promise<boolean>;
}

/** Finished operations stay listed for a while (LXD keeps them ~5 s). */
const RETAIN_MS = 5000;

const isFinal = (code: number): boolean =>
  code === StatusCode.Success || code === StatusCode.Failure || code === StatusCode.Cancelled;

@Injectable()
export class OperationsService {
  private readonly entries = new Map<string, Entry>();
  private readonly sources: OperationSource[] = [];
  location = 'none';

  constructor(private readonly events: EventsService) {}

  /** Creates and starts an operation; `run` executes in the background. */
  start(spec: OperationSpec): Operation {
    const now = new Date().toISOString();
    const op: Operation = {
      id: randomUUID(),
      class: spec.class,
      description: spec.description,
      created_at: now,
      updated_at: now,
      status: StatusText[StatusCode.Pending]!,
      status_code: StatusCode.Pending,
      resources: spec.resources ?? null,
      metadata: spec.metadata ?? null,
      may_cancel: Boolean(spec.cancel),
      err: '',
      location: this.location,
    };
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    const entry: Entry = { op, project: spec.project, spec, abort: new AbortController(), done, settle };
    this.entries.set(op.id, entry);
    this.emit(entry);
    this.setStatus(entry, StatusCode.Running);
    if (spec.run) {
      const running = this.handle(entry);
      // Let the creating request answer first, as LXD (the client GETs the operation right after).
      setImmediate(() => {
        spec.run!(running).then(
          (result) => {
            if (result && typeof result === 'object') entry.op.metadata = { ...(entry.op.metadata ?? {}), ...result };
            this.finish(entry, StatusCode.Success, '');
          },
          (err: unknown) => {
            if (isFinal(entry.op.status_code)) return;
            const cancelled = entry.abort.signal.aborted;
            this.finish(entry, cancelled ? StatusCode.Cancelled : StatusCode.Failure, errorMessage(err));
          },
        );
      });
    }
    return this.snapshot(entry);
  }

  /** Marks a run-less operation (token, websocket) finished. */
  complete(id: string, error?: string): void {
    const entry = this.entries.get(id);
    if (!entry || isFinal(entry.op.status_code)) return;
    this.finish(entry, error ? StatusCode.Failure : StatusCode.Success, error ?? '');
  }

  get(id: string, project?: string): Operation {
    return this.snapshot(this.entry(id, project));
  }

  list(project: string | null): Operation[] {
    const out: Operation[] = [];
    for (const e of this.entries.values()) if (project === null || e.project === project) out.push(this.snapshot(e));
    return out;
  }

  /** Whether operation `id` is one of this daemon's (running or recently finished). */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  addSource(source: OperationSource): void {
    this.sources.push(source);
  }

  /** `list` plus the operations of the other sources. */
  async listAll(project: string | null): Promise<Operation[]> {
    const external = await Promise.all(this.sources.map((s) => s.list()));
    return [...this.list(project), ...external.flat()];
  }

  /** `get`, falling back to the other sources. */
  async find(id: string, project?: string): Promise<Operation> {
    if (this.entries.has(id)) return this.get(id, project);
    for (const s of this.sources) {
      const op = await s.get(id);
      if (op) return op;
    }
    throw notFound('Operation not found');
  }

  /** `cancel`, falling back to the other sources. */
  async cancelAny(id: string, project?: string): Promise<void> {
    if (this.entries.has(id)) return this.cancel(id, project);
    for (const s of this.sources) if (await s.cancel(id)) return;
    throw notFound('Operation not found');
  }

  /** Operations of one class still running, e.g. pending trust tokens. */
  running(cls: OperationClass): Operation[] {
    return [...this.entries.values()]
      .filter((e) => e.op.class === cls && !isFinal(e.op.status_code))
      .map((e) => this.snapshot(e));
  }

  projectOf(id: string): string {
    return this.entry(id).project;
  }

  async cancel(id: string, project?: string): Promise<void> {
    const entry = this.entry(id, project);
    if (!entry.spec.cancel) throw forbidden(`Only running operations can be cancelled`);
    if (isFinal(entry.op.status_code)) throw badRequest('Only running operations can be cancelled');
    this.setStatus(entry, StatusCode.Cancelling);
    entry.abort.abort();
    try {
      await entry.spec.cancel(this.handle(entry));
    } finally {
      this.finish(entry, StatusCode.Cancelled, '');
    }
  }

  /** Resolves when the operation is final or after `timeoutSec` (-1 = forever). */
  async wait(id: string, timeoutSec: number, project?: string): Promise<Operation> {
    const entry = this.entry(id, project);
    if (!isFinal(entry.op.status_code)) {
      if (timeoutSec < 0) await entry.done;
      else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([entry.done, new Promise<void>((r) => (timer = setTimeout(r, timeoutSec * 1000)))]);
        clearTimeout(timer);
      }
    }
    return this.snapshot(entry);
  }

  /** Cancels what can be cancelled; used at shutdown. */
  shutdown(): void {
    for (const e of this.entries.values()) {
      if (!isFinal(e.op.status_code)) {
        e.abort.abort();
        this.finish(e, StatusCode.Cancelled, 'Daemon shutting down');
      }
    }
  }

  private entry(id: string, project?: string): Entry {
    const entry = this.entries.get(id);
    // Project-less operations (entry.project '') are found from any project, as LXD.
    if (!entry || (project !== undefined && project !== '' && entry.project !== '' && entry.project !== project)) {
      throw notFound('Operation not found');
    }
    return entry;
  }

  private handle(entry: Entry): RunningOperation {
    return {
      id: entry.op.id,
      signal: entry.abort.signal,
      updateMetadata: (patch) => {
        entry.op.metadata = { ...(entry.op.metadata ?? {}), ...patch };
        entry.op.updated_at = new Date().toISOString();
        this.emit(entry);
      },
    };
  }

  private setStatus(entry: Entry, code: number): void {
    entry.op.status_code = code;
    entry.op.status = StatusText[code] ?? String(code);
    entry.op.updated_at = new Date().toISOString();
    this.emit(entry);
  }

  private finish(entry: Entry, code: number, err: string): void {
    entry.op.err = err;
    entry.op.may_cancel = false;
    this.setStatus(entry, code);
    entry.settle();
    setTimeout(() => this.entries.delete(entry.op.id), RETAIN_MS).unref();
  }

  private emit(entry: Entry): void {
    this.events.emit('operation', entry.project, entry.op);
  }

  private snapshot(entry: Entry): Operation {
    return structuredClone(entry.op);
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof ApiError || err instanceof Error) return err.message;
  return String(err);
}
