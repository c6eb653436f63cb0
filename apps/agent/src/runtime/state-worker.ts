// A second thread for `lxc list` of many running containers: reading one container's state is ~30 small /proc and
// sysfs files, all synchronous; the agent reads half of them while this thread reads the other half. Started on
// first use, unref'd (it never keeps the agent alive); any failure disables it and the agent reads everything.
import { Worker } from 'node:worker_threads';
import type { FastActive } from './fast-state.js';

interface Pending {
  resolve(results: Record<string, FastActive>): void;
  reject(err: Error): void;
}

export class StateWorker {
  private worker: Worker | null = null;
  private disabled = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Whether it can take work (false once it failed). */
  get usable(): boolean {
    return !this.disabled;
  }

  read(lxcPath: string, names: string[]): Promise<Record<string, FastActive>> {
    const worker = this.start();
    if (!worker) return Promise.reject(new Error('state worker unavailable'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, lxcPath, names });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.disabled = true;
    if (w) await w.terminate();
  }

  private start(): Worker | null {
    if (this.disabled) return null;
    if (this.worker) return this.worker;
    try {
      const w = new Worker(new URL('./state-worker.main.js', import.meta.url));
      w.unref();
      w.on('message', (m: { id: number; results: Record<string, FastActive> }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m.results);
      });
      const fail = (err: Error) => {
        this.disabled = true;
        this.worker = null;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`state worker exited (${code})`)));
      this.worker = w;
      return w;
    } catch {
      this.disabled = true;
      return null;
    }
  }
}
