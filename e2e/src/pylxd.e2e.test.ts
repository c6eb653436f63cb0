// pylxd 2.2.10 (Debian's python3-pylxd, the legacy /1.0/containers API with keep-alive and polling /wait) drives a
// full container cycle: create, start, execute, file put/get, stop, delete.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, TestDaemon, busyboxImageDir, describeRun, run } from './harness/index.js';

const PYTHON = '/usr/bin/python3';
const ready = process.getuid?.() === 0 && existsSync('/usr/bin/lxc-start') && existsSync('/usr/lib/python3/dist-packages/pylxd');

describe('pylxd', { skip: ready ? false : 'needs root, liblxc and python3-pylxd' }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    assert.equal((await d.cli(['init', '--auto'])).code, 0);
    const r = await d.lxc(['image', 'import', join(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
    assert.equal(r.code, 0, describeRun(r));
  });
  after(async () => {
    if (d) {
      await d.lxc(['delete', '--force', 'py1']);
      await d.dispose();
    }
  });

  test('create, start, execute, files, stop, delete', async () => {
    const r = await run(PYTHON, [join(REPO_ROOT, 'e2e', 'pylxd', 'cycle.py'), 'busybox', 'py1'], { timeoutMs: 120_000, env: d.env() });
    assert.equal(r.code, 0, describeRun(r));
    const seen = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.deepEqual(seen, {
      status_after_start: 'Running',
      exec_exit: 0,
      exec_stdout: 'init\n',
      exec_fail_exit: 3,
      exec_fail_stderr: 'oops\n',
      file_sha_equal: true,
      status_after_stop: 'Stopped',
      exists_after_delete: false,
    });
  });
});
