// The two assertions most e2e files make about an `lxc` call, bound to a daemon.
import assert from 'node:assert/strict';
import type { TestDaemon } from './daemon.js';
import { describeRun } from './run.js';

export interface LxcAsserts {
  /** Runs lxc (stdin from `input`), asserts exit 0 and returns stdout. */
  ok(args: string[], input?: string): Promise<string>;
  /** Runs lxc, asserts a non-zero exit and that stderr matches. */
  fails(args: string[], message: RegExp): Promise<void>;
}

/** `daemon` is read at each call (tests start it in before()). */
export function lxcAsserts(daemon: () => TestDaemon, timeoutMs = 180_000): LxcAsserts {
  return {
    async ok(args, input) {
      const r = await daemon().lxc(args, { timeoutMs, ...(input === undefined ? {} : { input }) });
      assert.equal(r.code, 0, describeRun(r));
      return r.stdout;
    },
    async fails(args, message) {
      const r = await daemon().lxc(args, { timeoutMs: 60_000 });
      assert.notEqual(r.code, 0, describeRun(r));
      assert.match(r.stderr, message, describeRun(r));
    },
  };
}
