import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { shiftTarOwners } from './tar-owner-shift.js';

test('tar owners in [base, base + range) move down by base; others, names and data are untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-tarshift-'));
  try {
    mkdirSync(join(dir, 'src/sub'), { recursive: true });
    writeFileSync(join(dir, 'src/sub/file'), 'x'.repeat(1500));
    writeFileSync(join(dir, 'src/' + 'n'.repeat(150)), 'long name');
    writeFileSync(join(dir, 'om'), '+0 +1000000\n');
    writeFileSync(join(dir, 'gm'), '+0 +1000005\n');
    const tarball = join(dir, 'a.tar');
    execFileSync('tar', ['-c', '-f', tarball, '--numeric-owner', `--owner-map=${join(dir, 'om')}`, `--group-map=${join(dir, 'gm')}`, '-C', dir, 'src']);
    const chunks: Buffer[] = [];
    // Odd chunk sizes: headers split across chunks.
    const source = readFileSync(tarball);
    const pieces = Array.from({ length: Math.ceil(source.length / 333) }, (_, i) => source.subarray(i * 333, (i + 1) * 333));
    for await (const c of Readable.from(pieces).pipe(shiftTarOwners({ uid: 1000000, gid: 1000000, range: 65536 }))) chunks.push(c as Buffer);
    const shifted = Buffer.concat(chunks);
    assert.equal(shifted.length, source.length);
    writeFileSync(join(dir, 'b.tar'), shifted);
    const listing = execFileSync('tar', ['-tv', '--numeric-owner', '-f', join(dir, 'b.tar')], { encoding: 'utf8' });
    for (const line of listing.trim().split('\n')) assert.match(line, / 0\/5 /, line);
    assert.match(listing, /n{150}/);
    assert.equal(execFileSync('tar', ['-xO', '-f', join(dir, 'b.tar'), 'src/sub/file'], { encoding: 'utf8' }), 'x'.repeat(1500));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
