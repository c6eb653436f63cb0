// The busybox test image, built once per test process with e2e/images/build-busybox-image.sh.
import { join } from 'node:path';
import { makeTempDir } from './cleanup.js';
import { REPO_ROOT } from './paths.js';
import { run } from './run.js';

let built: Promise<string> | undefined;

/** Directory holding busybox.tar.xz (unified), meta.tar.xz + rootfs.squashfs (split). */
export function busyboxImageDir(): Promise<string> {
  built ??= (async () => {
    const out = makeTempDir('image');
    const r = await run('bash', [join(REPO_ROOT, 'e2e', 'images', 'build-busybox-image.sh'), out], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`building the busybox image failed: ${r.stderr}`);
    return out;
  })();
  return built;
}
