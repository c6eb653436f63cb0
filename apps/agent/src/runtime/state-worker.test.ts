import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fastActive } from './fast-state.js';
import { HostLinks } from './proc-net.js';
import { StateWorker } from './state-worker.js';

test('state worker: the same fast-path answers as the agent thread, from another thread', async () => {
  const lxcPath = mkdtempSync(join(tmpdir(), 'lxdts-state-worker-'));
  const worker = new StateWorker();
  try {
    // Never started; a recorded init that is not alive (our own pid is no container init) and no monitor: stopped.
    mkdirSync(join(lxcPath, 'c1'));
    writeFileSync(join(lxcPath, 'c1', 'config'), '');
    mkdirSync(join(lxcPath, 'c2'));
    writeFileSync(join(lxcPath, 'c2', 'config'), '');
    writeFileSync(join(lxcPath, 'c2', 'init.pid'), `${process.pid} 1\n`);
    // A monitor pid file naming a live process that is not c3's monitor: liblxc can't be asked here, so stopped.
    mkdirSync(join(lxcPath, 'c3'));
    writeFileSync(join(lxcPath, 'c3', 'config'), '');
    writeFileSync(join(lxcPath, 'c3', 'monitor.pid'), `${process.pid}\n`);
    const names = ['c1', 'c2', 'c3'];
    const here = Object.fromEntries(names.map((n) => [n, fastActive(lxcPath, n, new HostLinks())]));
    const there = await worker.read(lxcPath, names);
    assert.deepEqual(there, here);
    assert.deepEqual(Object.values(there), [{ kind: 'stopped' }, { kind: 'stopped' }, { kind: 'stopped' }]);
  } finally {
    await worker.close();
    rmSync(lxcPath, { recursive: true, force: true });
  }
  assert.equal(worker.usable, false);
  await assert.rejects(worker.read(lxcPath, ['c1']));
});
