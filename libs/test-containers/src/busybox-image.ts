// A small unified LXD image for container tests, built in a few hundred milliseconds from the host's static busybox.
// (The end-to-end tests use e2e/images/build-busybox-image.sh: templates, split images, reproducible archives.)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `<dir>/busybox.tar.xz`: metadata.yaml + rootfs/ with a static busybox as /sbin/init (no getty); returns its path. */
export function buildBusyboxImage(dir: string): string {
  const src = join(dir, 'image-src');
  const rootfs = join(src, 'rootfs');
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'mnt']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  const applets = execFileSync(join(rootfs, 'bin/busybox'), ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  symlinkSync('../bin/busybox', join(rootfs, 'sbin/init'));
  writeFileSync(join(rootfs, 'etc/inittab'), '::sysinit:/bin/true\n');
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(src, 'metadata.yaml'), 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: busybox\n');
  const tarball = join(dir, 'busybox.tar.xz');
  execFileSync('tar', ['-cJf', tarball, '--numeric-owner', '--owner=0', '--group=0', '-C', src, 'metadata.yaml', 'rootfs']);
  return tarball;
}
