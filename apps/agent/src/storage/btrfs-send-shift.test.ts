// Real send streams from a btrfs loop file (root only): crc32c as the kernel computes it; owners shifted up and
// back down survive `btrfs receive` (which checks every command's crc).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { sendCrc32c, shiftSendStream } from './btrfs-send-shift.js';

const usable = process.getuid?.() === 0 && spawnSync('mkfs.btrfs', ['--version']).status === 0;
const shift = { uid: 1000000, gid: 1000000, range: 65536 };

describe('btrfs send stream owner shift', { skip: !usable && 'needs root and btrfs-progs' }, () => {
  let dir = '';
  let mnt = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-sendshift-'));
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('truncate', ['-s', '256M', join(dir, 'fs.img')]);
    execFileSync('mkfs.btrfs', ['-q', join(dir, 'fs.img')]);
    execFileSync('mount', ['-o', 'loop', join(dir, 'fs.img'), mnt]);
    execFileSync('btrfs', ['subvolume', 'create', join(mnt, 'src')]);
    mkdirSync(join(mnt, 'src/home'));
    writeFileSync(join(mnt, 'src/root-file'), 'r');
    writeFileSync(join(mnt, 'src/home/user-file'), 'u');
    chownSync(join(mnt, 'src/home/user-file'), 1000, 1001);
    chownSync(join(mnt, 'src/home'), 1000, 1001);
    execFileSync('btrfs', ['subvolume', 'snapshot', '-r', join(mnt, 'src'), join(mnt, 'ro')]);
    mkdirSync(join(mnt, 'up'));
    mkdirSync(join(mnt, 'down'));
  });
  after(() => {
    spawnSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (path: string) => execFileSync('btrfs', ['-q', 'send', path], { maxBuffer: 64 * 1024 * 1024 });

  test('every command crc32c of a real stream is what sendCrc32c computes', () => {
    const stream = send(join(mnt, 'ro'));
    let at = 17;
    let commands = 0;
    while (at < stream.length) {
      const size = 10 + stream.readUInt32LE(at);
      const cmd = Buffer.from(stream.subarray(at, at + size));
      const stored = cmd.readUInt32LE(6);
      cmd.writeUInt32LE(0, 6);
      assert.equal(sendCrc32c(cmd), stored);
      at += size;
      commands++;
    }
    assert.ok(commands > 5);
  });

  test('shifted up then down, the received owners are moved and back', async () => {
    const up = join(dir, 'up.stream');
    await pipeline(Readable.from([send(join(mnt, 'ro'))]), shiftSendStream(shift, 'up'), createWriteStream(up));
    execFileSync('btrfs', ['receive', '-f', up, join(mnt, 'up')], { stdio: 'ignore' });
    assert.equal(statSync(join(mnt, 'up/ro/root-file')).uid, 1000000);
    assert.equal(statSync(join(mnt, 'up/ro/home/user-file')).uid, 1001000);
    assert.equal(statSync(join(mnt, 'up/ro/home/user-file')).gid, 1001001);
    assert.equal(readFileSync(join(mnt, 'up/ro/home/user-file'), 'utf8'), 'u');

    const down = join(dir, 'down.stream');
    await pipeline(Readable.from([send(join(mnt, 'up/ro'))]), shiftSendStream(shift, 'down'), createWriteStream(down));
    execFileSync('btrfs', ['receive', '-f', down, join(mnt, 'down')], { stdio: 'ignore' });
    assert.equal(statSync(join(mnt, 'down/ro/root-file')).uid, 0);
    assert.equal(statSync(join(mnt, 'down/ro/home/user-file')).uid, 1000);
    assert.equal(statSync(join(mnt, 'down/ro/home')).gid, 1001);
  });

  test('not a send stream is an error', async () => {
    await assert.rejects(pipeline(Readable.from([Buffer.from('not a stream at all')]), shiftSendStream(shift, 'up'), createWriteStream(join(dir, 'x'))), /Not a btrfs send stream/);
  });
});
