// Reading /proc and sysfs files, which the agent does by the hundred for `lxc list`: these report a size of 0 (or
// 4096), so readFileSync stats them and reads until an empty read — five system calls and an options parse per
// file. Here: open, read into one reused buffer until a short read, close. Text only (UTF-8).
import { closeSync, openSync, readSync } from 'node:fs';

let buffer = Buffer.allocUnsafe(64 * 1024);

/** The whole content of a /proc or sysfs file (throws as readFileSync does: ENOENT, EACCES, ...). */
export function readKernelFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      // sysfs gives a whole attribute in the first read; /proc seq files fill whole pages until the end.
      if (length < buffer.length && path.includes('/sys/')) break;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}
