// A rootfs full of hostile symlinks beside sentinel files outside it: whatever the path, nothing outside the rootfs
// is ever read, written, created or deleted. Then LXD's semantics of each operation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import type { AgentFilePushRequest } from '@lxdts/api-types';
import { ContainerFiles, type ReadResult, UnsupportedFileError } from './container-files.js';
import { ContainerPathError, ContainerRoot, MAX_SYMLINKS } from './container-root.js';

const isRoot = process.getuid?.() === 0;
const python3 = ['/usr/bin/python3', '/bin/python3'].some((p) => existsSync(p));

let base = '';
let rootfs = '';
let outside = '';
const SENTINEL = 'outside-secret\n';

/** Everything under `outside` with its content: must never change. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.push(`${p}/ ${st.mode}`);
        walk(p);
      } else if (st.isSymbolicLink()) out.push(`${p} -> ${readlinkSync(p)}`);
      else out.push(`${p} ${st.mode} ${st.uid}:${st.gid} ${st.mtimeMs} ${readFileSync(p, 'utf8')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

function build(): void {
  base = mkdtempSync(join(tmpdir(), 'lxdts-files-'));
  rootfs = join(base, 'rootfs');
  outside = join(base, 'outside');
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'sentinel'), SENTINEL);
  writeFileSync(join(outside, 'sub', 'sentinel'), SENTINEL);
  writeFileSync(join(outside, 'outside-marker'), SENTINEL);
  mkdirSync(rootfs);
  const r = (p: string) => join(rootfs, p);
  mkdirSync(r('etc'));
  writeFileSync(r('etc/hostname'), 'container\n');
  mkdirSync(r('outside'));
  writeFileSync(r('outside/sentinel'), 'decoy-inside\n');
  // Absolute links: to the host's /etc, to the outside dir by its host path, to the outside sentinel.
  symlinkSync('/etc', r('etc-abs'));
  symlinkSync(outside, r('outside-abs'));
  symlinkSync(join(outside, 'sentinel'), r('sentinel-abs'));
  symlinkSync(join(outside, 'newfile'), r('newfile-abs'));
  // Relative links climbing out.
  symlinkSync('../../../../../../..', r('up'));
  symlinkSync('../outside', r('outside-rel'));
  symlinkSync('../outside/sentinel', r('sentinel-rel'));
  symlinkSync('../../outside/sentinel', r('etc/sentinel-rel2'));
  // Chains and loops.
  symlinkSync('up', r('up2'));
  symlinkSync('up2/outside-abs', r('chain'));
  symlinkSync('loop2', r('loop1'));
  symlinkSync('loop1', r('loop2'));
  symlinkSync('self', r('self'));
  // A directory whose parent link points out: a/b -> host base.
  mkdirSync(r('a'));
  symlinkSync(base, r('a/b'));
}

const files = new ContainerFiles();
const push = (path: string, over: Partial<AgentFilePushRequest> = {}, body?: string | Buffer) =>
  files.push(
    { rootfsPath: rootfs, path, type: 'file', write: 'overwrite', uid: -1, gid: -1, mode: -1, ...over },
    body === undefined ? undefined : Readable.from([Buffer.from(body)]),
  );

async function readText(path: string): Promise<string> {
  const r: ReadResult = await files.read(rootfs, path);
  if (r.kind === 'file') {
    try {
      return (await r.handle.readFile()).toString('utf8');
    } finally {
      await r.handle.close();
    }
  }
  if (r.kind === 'symlink') return `symlink:${r.target.toString('utf8')}`;
  return `dir:${r.entries.sort().join(',')}`;
}

describe('container paths: nothing outside the rootfs is reachable', () => {
  let before_ = '';
  before(() => {
    build();
    before_ = snapshot(outside);
  });
  afterEach(() => assert.equal(snapshot(outside), before_, 'the outside directory changed'));
  after(() => rmSync(base, { recursive: true, force: true }));

  test('reads through absolute links, relative climbs, chains and `..` stay inside', async () => {
    const cases: [string, string][] = [
      // A final symlink is reported (its target as stored), never followed by a read.
      ['/sentinel-abs', `symlink:${outside}/sentinel`],
      ['/sentinel-rel', 'symlink:../outside/sentinel'],
      ['/etc/sentinel-rel2', 'symlink:../../outside/sentinel'],
      ['/outside-rel/sentinel', 'decoy-inside\n'],
      ['/outside-abs/sentinel', 'ENOENT'],
      ['/up/outside/sentinel', 'decoy-inside\n'],
      ['/up2/up/up/etc/hostname', 'container\n'],
      ['/chain/sentinel', 'ENOENT'],
      ['../../../outside/sentinel', 'decoy-inside\n'],
      ['/../../outside/sentinel', 'decoy-inside\n'],
      ['/etc/../../../../outside/sentinel', 'decoy-inside\n'],
      ['/a/b/outside/sentinel', 'ENOENT'],
      ['/etc-abs/hostname', 'container\n'],
      ['/etc-abs/passwd', 'ENOENT'],
      ['/up', 'symlink:../../../../../../..'],
      ['/up/', `dir:${readdirSync(rootfs).sort().join(',')}`],
      ['/up2/up/..', `dir:${readdirSync(rootfs).sort().join(',')}`],
    ];
    for (const [path, want] of cases) {
      const got = await readText(path).catch((err: unknown) => (err instanceof ContainerPathError ? err.code : String(err)));
      assert.equal(got, want, path);
    }
  });

  test('when the container has the host path, the link lands there, inside the rootfs', async () => {
    mkdirSync(join(rootfs, outside), { recursive: true });
    writeFileSync(join(rootfs, outside, 'sentinel'), 'mirror-inside\n');
    try {
      assert.equal(await readText('/outside-abs/sentinel'), 'mirror-inside\n');
      assert.equal(await readText('/chain/sentinel'), 'mirror-inside\n');
      assert.equal(await readText('/a/b/outside/sentinel'), 'mirror-inside\n');
    } finally {
      rmSync(join(rootfs, base.split('/')[1] as string), { recursive: true, force: true });
    }
  });

  test('loops and self links fail with ELOOP; a file used as a directory with ENOTDIR', async () => {
    for (const p of ['/loop1', '/self', '/loop1/x']) {
      await assert.rejects(readText(`${p}/`), (e: unknown) => e instanceof ContainerPathError && e.code === 'ELOOP', p);
    }
    await assert.rejects(push('/loop1', {}, 'x'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ELOOP');
    await assert.rejects(readText('/etc/hostname/x'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOTDIR');
    // A final symlink is described, not followed.
    assert.equal(await readText('/loop1'), 'symlink:loop2');
    assert.ok(MAX_SYMLINKS >= 40);
  });

  test('writes through links land inside (or fail), never outside', async () => {
    // Existing outside file by absolute link: the container's /<outside>/sentinel does not exist → its dir neither.
    await assert.rejects(push('/sentinel-abs', {}, 'pwned'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await assert.rejects(push('/newfile-abs', {}, 'pwned'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await assert.rejects(push('/outside-abs/sentinel', {}, 'pwned'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await assert.rejects(push('/a/b/outside/new', {}, 'pwned'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    // Relative climbs end at the container's root.
    await push('/sentinel-rel', {}, 'written-1');
    assert.equal(readFileSync(join(rootfs, 'outside/sentinel'), 'utf8'), 'written-1');
    await push('/up/outside/new-rel', {}, 'written-2');
    assert.equal(readFileSync(join(rootfs, 'outside/new-rel'), 'utf8'), 'written-2');
    await push('../../outside/new-dotdot', {}, 'written-3');
    assert.equal(readFileSync(join(rootfs, 'outside/new-dotdot'), 'utf8'), 'written-3');
    await push('/up/../../outside/sentinel', { write: 'append' }, '+appended');
    assert.equal(readFileSync(join(rootfs, 'outside/sentinel'), 'utf8'), 'written-1+appended');
    // Directories and symlinks through links.
    await assert.rejects(push('/outside-abs/newdir', { type: 'directory' }), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await push('/outside-rel/newdir', { type: 'directory' });
    assert.ok(statSync(join(rootfs, 'outside/newdir')).isDirectory());
    await push('/up/outside/evil-link', { type: 'symlink' }, join(outside, 'sentinel'));
    assert.equal(readlinkSync(join(rootfs, 'outside/evil-link')), join(outside, 'sentinel'));
    // ... and a pushed link to the host is then followed the container's way too.
    await assert.rejects(push('/outside/evil-link', {}, 'pwned'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
  });

  test('when the link target exists inside the rootfs, the write goes there', async () => {
    mkdirSync(join(rootfs, outside), { recursive: true });
    try {
      await push('/newfile-abs', {}, 'created-inside');
      assert.equal(readFileSync(join(rootfs, outside, 'newfile'), 'utf8'), 'created-inside');
      assert.ok(!existsSync(join(outside, 'newfile')));
    } finally {
      rmSync(join(rootfs, base.split('/')[1] as string), { recursive: true, force: true });
    }
  });

  test('deletes remove the link, never its target; `..` cannot climb to the outside', async () => {
    symlinkSync(join(outside, 'sentinel'), join(rootfs, 'to-delete'));
    await files.remove(rootfs, '/to-delete');
    assert.ok(!existsSync(join(rootfs, 'to-delete')));
    await assert.rejects(files.remove(rootfs, '/outside-abs/sentinel'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await assert.rejects(files.remove(rootfs, '/a/b/outside/sentinel'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await assert.rejects(files.remove(rootfs, '/chain/sub/sentinel'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await files.remove(rootfs, '../../outside/new-dotdot');
    assert.ok(!existsSync(join(rootfs, 'outside/new-dotdot')));
    await assert.rejects(files.remove(rootfs, '/..'), (e: unknown) => e instanceof ContainerPathError && e.code === 'EBUSY');
    await assert.rejects(files.remove(rootfs, '/up/'), (e: unknown) => e instanceof ContainerPathError);
    assert.ok(existsSync(rootfs));
  });

  test('a directory swapped for a symlink between lstat and open is looked at again, inside', async () => {
    mkdirSync(join(rootfs, 'race/dir'), { recursive: true });
    writeFileSync(join(rootfs, 'race/dir/sentinel'), 'race-inside\n');
    let swaps = 0;
    const racing = new ContainerFiles({
      beforeOpen: (name) => {
        if (name !== 'dir' || swaps > 0) return;
        swaps++;
        rmSync(join(rootfs, 'race/dir'), { recursive: true });
        symlinkSync(outside, join(rootfs, 'race/dir'));
      },
    });
    const r = await racing.read(rootfs, '/race/dir/sentinel').catch((e: unknown) => e);
    assert.ok(r instanceof ContainerPathError && r.code === 'ENOENT', String(r));
    assert.equal(swaps, 1);
    // Same for a write, and a swap to a relative climb.
    rmSync(join(rootfs, 'race/dir'));
    mkdirSync(join(rootfs, 'race/dir'));
    swaps = 0;
    const racing2 = new ContainerFiles({
      beforeOpen: (name) => {
        if (name !== 'dir' || swaps > 0) return;
        swaps++;
        rmSync(join(rootfs, 'race/dir'), { recursive: true });
        symlinkSync('../../../../../../../../..', join(rootfs, 'race/dir'));
      },
    });
    await racing2.push({ rootfsPath: rootfs, path: '/race/dir/outside/sentinel', type: 'file', write: 'overwrite', uid: -1, gid: -1, mode: -1 }, Readable.from([Buffer.from('raced')]));
    assert.equal(readFileSync(join(rootfs, 'outside/sentinel'), 'utf8'), 'raced');
    assert.equal(swaps, 1);
  });

  test('a concurrent process swapping a directory with symlinks (renameat2 RENAME_EXCHANGE) never lets an operation out', {
    skip: !python3 && 'python3 is needed for renameat2',
  }, async () => {
    // flip: a real directory <-> a link to the outside dir's host path; flip2: a real directory <-> a relative
    // climb that a host-side lookup would take to the outside dir. Each swap is atomic, as a hostile container's.
    for (const d of ['flip', 'flip2']) {
      mkdirSync(join(rootfs, d));
      writeFileSync(join(rootfs, d, 'sentinel'), 'flip-inside\n');
    }
    writeFileSync(join(rootfs, 'outside/sentinel'), 'decoy-inside\n');
    symlinkSync(outside, join(rootfs, 'flip.alt'));
    symlinkSync('../../outside', join(rootfs, 'flip2.alt'));
    const script = [
      'import ctypes, sys',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'pairs = [(sys.argv[i].encode(), sys.argv[i + 1].encode()) for i in (1, 3)]',
      'while True:',
      '    for a, b in pairs:',
      '        libc.renameat2(-100, a, -100, b, 2)',
    ].join('\n');
    const args = [join(rootfs, 'flip'), join(rootfs, 'flip.alt'), join(rootfs, 'flip2'), join(rootfs, 'flip2.alt')];
    const flipper = spawn('python3', ['-c', script, ...args], { stdio: 'ignore' });
    const seen = new Map<string, number>();
    const note = (got: string) => seen.set(got, (seen.get(got) ?? 0) + 1);
    const errCode = (e: unknown) => (e instanceof ContainerPathError ? e.code : String(e));
    try {
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 600; i++) {
        const d = i % 2 === 0 ? 'flip' : 'flip2';
        note(await readText(`/${d}/sentinel`).catch(errCode));
        note(await readText(`/${d}/`).catch(errCode));
        if (i % 3 === 0) await push(`/${d}/sentinel`, {}, 'flip-inside\n').catch((e: unknown) => note(`push ${errCode(e)}`));
        if (i % 6 === 0) await push(`/${d}/sub`, { type: 'directory' }).catch((e: unknown) => note(`mkdir ${errCode(e)}`));
        if (i % 6 === 3) await files.remove(rootfs, `/${d}/sub`).catch((e: unknown) => note(`rm ${errCode(e)}`));
        if (i % 12 === 0) await files.remove(rootfs, `/${d}/sentinel`).catch((e: unknown) => note(`rm ${errCode(e)}`));
        if (i % 12 === 1) await push(`/${d}/link`, { type: 'symlink' }, '/etc/shadow').catch((e: unknown) => note(`ln ${errCode(e)}`));
      }
    } finally {
      flipper.kill('SIGKILL');
      await new Promise((r) => flipper.once('exit', r));
    }
    process.stderr.write(`# swap race results: ${JSON.stringify([...seen])}\n`);
    const allowed = (got: string) =>
      /^(push |mkdir |rm |ln )?(ENOENT|ENOTDIR|EAGAIN|EEXIST|ENOTEMPTY)$/.test(got) || got === 'flip-inside\n' || got === 'decoy-inside\n' || got.startsWith('dir:');
    for (const got of seen.keys()) assert.ok(allowed(got), `unexpected result ${JSON.stringify(got)}`);
    for (const got of seen.keys()) assert.ok(!got.includes('outside-marker'), `listed the outside directory: ${got}`);
    assert.ok(seen.has('flip-inside\n'), 'the race never showed the directory: the test did not exercise anything');
  });
});

describe('container files: LXD 5.0.2 semantics', () => {
  before(build);
  after(() => rmSync(base, { recursive: true, force: true }));

  test('a new file gets mode 0644 and root, or what was asked; an existing one keeps its own', async () => {
    await push('/etc/new', {}, 'one');
    let st = statSync(join(rootfs, 'etc/new'));
    assert.equal(st.mode & 0o7777, 0o644);
    assert.equal(`${st.uid}:${st.gid}`, `${process.getuid?.()}:${process.getgid?.()}`);
    await push('/etc/owned', { uid: isRoot ? 1000 : -1, gid: isRoot ? 1001 : -1, mode: 0o600 }, 'two');
    st = statSync(join(rootfs, 'etc/owned'));
    assert.equal(st.mode & 0o7777, 0o600);
    if (isRoot) assert.equal(`${st.uid}:${st.gid}`, '1000:1001');
    await push('/etc/owned', { uid: 0, gid: 0, mode: 0o777 }, 'three');
    st = statSync(join(rootfs, 'etc/owned'));
    assert.equal(st.mode & 0o7777, 0o600, 'existing file keeps its mode');
    if (isRoot) assert.equal(`${st.uid}:${st.gid}`, '1000:1001', 'existing file keeps its owner');
    assert.equal(readFileSync(join(rootfs, 'etc/owned'), 'utf8'), 'three');
    await push('/etc/owned', { write: 'append' }, '+four');
    assert.equal(readFileSync(join(rootfs, 'etc/owned'), 'utf8'), 'three+four');
    await assert.rejects(push('/etc/missing', { write: 'append' }, 'x'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    await push('/etc/empty');
    assert.equal(readFileSync(join(rootfs, 'etc/empty'), 'utf8'), '');
    await assert.rejects(push('/etc', {}, 'x'), (e: unknown) => e instanceof ContainerPathError && e.code === 'EISDIR');
    await assert.rejects(push('/nodir/file', {}, 'x'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
  });

  test('a file push follows a final symlink inside the container', async () => {
    symlinkSync('/etc/owned', join(rootfs, 'link-to-owned'));
    await push('/link-to-owned', {}, 'via-link');
    assert.equal(readFileSync(join(rootfs, 'etc/owned'), 'utf8'), 'via-link');
    assert.ok(lstatSync(join(rootfs, 'link-to-owned')).isSymbolicLink());
  });

  test('directories: 0750 by default, a no-op when present, ownership applied', async () => {
    assert.deepEqual(await push('/d1', { type: 'directory' }), { changed: true });
    assert.equal(statSync(join(rootfs, 'd1')).mode & 0o7777, 0o750);
    assert.deepEqual(await push('/d1', { type: 'directory', mode: 0o700 }), { changed: false });
    assert.equal(statSync(join(rootfs, 'd1')).mode & 0o7777, 0o750);
    assert.deepEqual(await push('/etc/hostname', { type: 'directory' }), { changed: false }, 'LXD: any existing path');
    await push('/d2', { type: 'directory', mode: 0o755, uid: isRoot ? 1000 : -1, gid: isRoot ? 1000 : -1 });
    const st = statSync(join(rootfs, 'd2'));
    assert.equal(st.mode & 0o7777, 0o755);
    if (isRoot) assert.equal(`${st.uid}:${st.gid}`, '1000:1000');
    assert.deepEqual(await push('/etc-abs', { type: 'directory' }), { changed: false }, 'a link to an existing directory');
    await assert.rejects(push('/loop1', { type: 'directory' }), (e: unknown) => e instanceof ContainerPathError && e.code === 'EEXIST');
    await assert.rejects(push('/no/such/dir', { type: 'directory' }), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
  });

  test('symlinks: stored as given, a no-op with the same target, refused over an existing entry', async () => {
    assert.deepEqual(await push('/l1', { type: 'symlink' }, '/etc/hostname'), { changed: true });
    assert.equal(readlinkSync(join(rootfs, 'l1')), '/etc/hostname');
    assert.deepEqual(await push('/l1', { type: 'symlink' }, '/etc/hostname'), { changed: false });
    await assert.rejects(push('/l1', { type: 'symlink' }, '/etc/other'), (e: unknown) => e instanceof ContainerPathError && e.code === 'EEXIST');
    await assert.rejects(push('/etc/hostname', { type: 'symlink' }, 'x'), (e: unknown) => e instanceof ContainerPathError && e.code === 'EEXIST');
    await assert.rejects(push('/l2', { type: 'symlink' }, ''), UnsupportedFileError);
    await assert.rejects(push('/l2', { type: 'symlink' }, 'x'.repeat(5000)), UnsupportedFileError);
    const r = await files.read(rootfs, '/l1');
    assert.equal(r.kind, 'symlink');
    assert.equal(r.info.type, 'symlink');
  });

  test('read: files with their info, directories with entry names, special files refused', async () => {
    const r = await files.read(rootfs, '/etc/hostname');
    assert.equal(r.kind, 'file');
    if (r.kind === 'file') await r.handle.close();
    assert.equal(r.info.size, 'container\n'.length);
    assert.equal(r.info.type, 'file');
    const d = await files.read(rootfs, '/');
    assert.equal(d.kind, 'directory');
    if (d.kind === 'directory') assert.ok(d.entries.includes('etc'));
    assert.deepEqual(await files.stat(rootfs, 'etc'), { ...(await files.stat(rootfs, '/etc/')), type: 'directory' });
    await assert.rejects(files.stat(rootfs, '/nope'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
    // A FIFO is neither opened for reading nor for writing (either would block).
    const fifo = join(rootfs, 'fifo');
    const made = spawn('mkfifo', [fifo]);
    await new Promise((r) => made.once('exit', r));
    if (existsSync(fifo)) {
      assert.equal((await files.stat(rootfs, '/fifo')).type, 'other');
      await assert.rejects(files.read(rootfs, '/fifo'), UnsupportedFileError);
      await assert.rejects(push('/fifo', {}, 'x'), UnsupportedFileError);
    }
  });

  test('delete: files, links and empty directories; not a non-empty one, nor a missing path', async () => {
    await push('/del', { type: 'directory' });
    await push('/del/f', {}, 'x');
    await assert.rejects(files.remove(rootfs, '/del'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOTEMPTY');
    await files.remove(rootfs, '/del/f');
    await files.remove(rootfs, '/del');
    assert.ok(!existsSync(join(rootfs, 'del')));
    await assert.rejects(files.remove(rootfs, '/del'), (e: unknown) => e instanceof ContainerPathError && e.code === 'ENOENT');
  });

  test('the rootfs itself must be a real directory', async () => {
    await assert.rejects(ContainerRoot.open(join(base, 'nope')));
    await assert.rejects(files.stat(join(rootfs, 'etc-abs'), '/'), /Failed to open the root file system/);
  });
});
