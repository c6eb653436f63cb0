// A small pool of connections to the current leader, each with the database opened. When leadership moves, the
// pool is invalidated: idle sessions close at once, sessions in use close when they come back.
import type { NodeClient } from './node-client.js';

export interface Session {
  readonly client: NodeClient;
  readonly dbId: number;
  /** The pool generation it was opened in; older sessions are not reused. */
  readonly generation: number;
}

export class SessionPool {
  private idle: Session[] = [];
  private open = 0;
  private generation = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly connect: (generation: number) => Promise<Omit<Session, 'generation'>>,
    private readonly maxOpen: number,
  ) {}

  /** An idle session on the leader, a new one, or (when `maxOpen` are in use) the next one released. */
  async acquire(): Promise<Session> {
    for (;;) {
      if (this.closed) throw new Error('dqlite client is closed');
      const s = this.idle.pop();
      if (s) {
        if (!s.client.closed && s.generation === this.generation) return s;
        this.discard(s);
        continue;
      }
      if (this.open < this.maxOpen) break;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.open++;
    const generation = this.generation;
    try {
      return { ...(await this.connect(generation)), generation };
    } catch (err) {
      this.open--;
      this.wakeOne();
      throw err;
    }
  }

  /** Returns a session; `reusable` false (or a dead connection, or an old generation) closes it. */
  release(s: Session, reusable: boolean): void {
    if (reusable && !this.closed && !s.client.closed && s.generation === this.generation) {
      this.idle.push(s);
      this.wakeOne();
      return;
    }
    this.discard(s);
  }

  /** Leadership moved (or is in doubt): no session opened so far is used again. */
  invalidate(): void {
    this.generation++;
    for (const s of this.idle.splice(0)) this.discard(s);
  }

  close(): void {
    this.closed = true;
    this.invalidate();
    for (const w of this.waiters.splice(0)) w();
  }

  private discard(s: Session): void {
    s.client.close();
    this.open--;
    this.wakeOne();
  }

  private wakeOne(): void {
    this.waiters.shift()?.();
  }
}
