// LXD's optimized backups on btrfs pools (`lxc export --optimized-storage`): the tarball holds btrfs send streams
// instead of file trees, as LXD 5.0.2 writes them:
//   backup/index.yaml                  optimized: true, optimized_header: true
//   backup/optimized_header.yaml       subvolumes: path "/", snapshot name ("" for the instance), readonly, uuid
//   backup/snapshots/<name>.bin        oldest first: the first a full stream, each next incremental on the one before
//   backup/container.bin               the instance (a read-only snapshot of it taken for the export), incremental
//                                      on the newest snapshot; backup.yaml sits at the volume's root, as LXD's
// Owners are shifted in the streams as in tarballs (btrfs-send-shift.ts). Import receives the streams in that order
// into the pool (a parent is found by its received UUID), then moves each subvolume into place.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgentBackupExportRequest, AgentBackupImportRequest } from '@lxdts/api-types';
import { badRequest } from '../errors.js';
import type { ProcessRunner, SpawnedProcess } from '../process/run.js';
import type { BtrfsCommands } from './btrfs-commands.js';
import { shiftSendStream } from './btrfs-send-shift.js';
import type { OwnerShift } from './tar-owner-shift.js';

/** Where the driver's volumes are: the paths the optimized backup needs from BtrfsStorage. */
export interface OptimizedBackupPaths {
  volume: string;
  snapshot(name: string): string;
  snapshotsDir: string;
}

interface Streamed {
  snapshot: string;
  path: string;
  uuid: string;
}

/** The UUID btrfs gave a subvolume (`btrfs subvolume show`). */
async function subvolumeUuid(runner: ProcessRunner, path: string): Promise<string> {
  const r = await runner.run('btrfs', ['subvolume', 'show', path], { timeoutMs: 60_000 });
  const m = /^\s*UUID:\s*([0-9a-f-]{36})\s*$/m.exec(r.stdout);
  if (!m) throw new Error(`No UUID for subvolume ${path}`);
  return m[1] as string;
}

/** Runs `from | [transform] | into` to completion; both processes must exit 0. */
async function piped(from: SpawnedProcess, into: Writable, transform: NodeJS.ReadWriteStream | null, intoProcess: SpawnedProcess | null): Promise<void> {
  let stderr = '';
  for (const p of [from, intoProcess]) p?.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  try {
    if (transform) await pipeline(from.stdout as Readable, transform, into);
    else await pipeline(from.stdout as Readable, into);
  } catch (err) {
    from.kill('SIGKILL');
    intoProcess?.kill('SIGKILL');
    throw new Error(`${(err as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  const codes = await Promise.all([from.exited, intoProcess ? intoProcess.exited : Promise.resolve(0)]);
  if (codes.some((c) => c !== 0)) throw new Error(`btrfs send/receive failed: ${stderr.trim() || `exit ${codes.join('/')}`}`);
}

export async function exportOptimized(
  runner: ProcessRunner,
  subvolumes: BtrfsCommands,
  paths: OptimizedBackupPaths,
  req: AgentBackupExportRequest,
  compressor: string,
  staging: string,
  tmp: string,
): Promise<void> {
  mkdirSync(join(staging, 'backup', 'snapshots'), { recursive: true, mode: 0o700 });
  // The instance is sent from a read-only snapshot of it, with backup.yaml at its root (LXD keeps one there).
  writeFileSync(join(paths.volume, 'backup.yaml'), req.backupYaml, { mode: 0o400 });
  mkdirSync(paths.snapshotsDir, { recursive: true, mode: 0o711 });
  const frozen = join(paths.snapshotsDir, `.backup-${randomBytes(4).toString('hex')}`);
  await subvolumes.snapshot(paths.volume, frozen, true);
  try {
    const streamed: Streamed[] = [];
    for (const snapshot of req.snapshots) streamed.push({ snapshot, path: paths.snapshot(snapshot), uuid: await subvolumeUuid(runner, paths.snapshot(snapshot)) });
    streamed.push({ snapshot: '', path: frozen, uuid: await subvolumeUuid(runner, frozen) });
    let parent: string | null = null;
    for (const s of streamed) {
      const file = s.snapshot ? join(staging, 'backup', 'snapshots', `${s.snapshot}.bin`) : join(staging, 'backup', 'container.bin');
      const send = runner.spawn('btrfs', ['send', '-q', ...(parent ? ['-p', parent] : []), s.path]);
      await piped(send, createWriteStream(file, { mode: 0o600 }), req.shift ? shiftSendStream(req.shift, 'up') : null, null);
      parent = s.path;
    }
    writeFileSync(join(staging, 'backup', 'index.yaml'), req.indexYaml, { mode: 0o644 });
    const header = streamed.map((s) => `- path: /\n  snapshot: ${s.snapshot === '' ? '""' : s.snapshot}\n  readonly: ${s.snapshot !== ''}\n  uuid: ${s.uuid}\n`).join('');
    writeFileSync(join(staging, 'backup', 'optimized_header.yaml'), `subvolumes:\n${header}`, { mode: 0o644 });
    await runner.run(
      'tar',
      [
        '-c',
        '-f',
        tmp,
        ...(compressor ? [`--use-compress-program=${compressor}`] : []),
        '-C',
        staging,
        'backup/index.yaml',
        'backup/optimized_header.yaml',
        ...req.snapshots.map((s) => `backup/snapshots/${s}.bin`),
        'backup/container.bin',
      ],
      { timeoutMs: 0 },
    );
  } finally {
    await subvolumes.delete(frozen).catch(() => undefined);
  }
}

/**
 * Receives the streams (snapshots oldest first, then the instance) and puts each subvolume in place: a snapshot is
 * received straight into the volume's snapshots directory (a read-only subvolume can't move to another directory,
 * and the next stream's parent must stay read-only), the instance into a private directory, made writable, then
 * moved. A failure removes what was received.
 */
export async function importOptimized(
  runner: ProcessRunner,
  subvolumes: BtrfsCommands,
  paths: OptimizedBackupPaths,
  req: AgentBackupImportRequest,
  remove: (path: string) => Promise<void>,
): Promise<void> {
  const receiving = join(dirname(paths.volume), `.${paths.volume.slice(dirname(paths.volume).length + 1)}.receive-${randomBytes(4).toString('hex')}`);
  mkdirSync(receiving, { mode: 0o700 });
  const placed: string[] = [];
  const receive = async (member: string, into: string): Promise<string> => {
    const before = new Set(readdirSync(into));
    const tar = runner.spawn('tar', ['-x', '-O', '-f', req.file, member]);
    const btrfs = runner.spawn('btrfs', ['receive', '-q', into]);
    btrfs.stdout.resume();
    await piped(tar, btrfs.stdin, req.unshift ? shiftSendStream(req.unshift as OwnerShift, 'down') : null, btrfs);
    const made = readdirSync(into).filter((e) => !before.has(e));
    for (const e of made) placed.push(join(into, e));
    if (made.length !== 1) throw badRequest(`Invalid backup: ${member} held ${made.length} subvolumes`);
    return join(into, made[0] as string);
  };
  try {
    for (const snapshot of req.snapshots) {
      const to = paths.snapshot(snapshot);
      if (existsSync(to)) throw badRequest(`Snapshot "${snapshot}" already exists`);
      mkdirSync(dirname(to), { recursive: true, mode: 0o711 });
      const got = await receive(`backup/snapshots/${snapshot}.bin`, dirname(to));
      if (got !== to) {
        renameSync(got, to); // same directory: allowed for a read-only subvolume
        placed[placed.length - 1] = to;
      }
    }
    const got = await receive('backup/container.bin', receiving);
    await subvolumes.setReadonly(got, false);
    renameSync(got, paths.volume);
    placed[placed.length - 1] = paths.volume;
  } catch (err) {
    for (const p of placed.reverse()) await remove(p).catch(() => undefined);
    throw err;
  } finally {
    rmSync(receiving, { recursive: true, force: true });
  }
}
