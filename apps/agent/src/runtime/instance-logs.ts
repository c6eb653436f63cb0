// The files of a container's log directory (`<var dir>/logs/<lxcName>/`, see libs/api-types agent-logs.ts): listed,
// opened for streaming as raw bytes (logs hold whatever the container printed, not UTF-8), emptied and removed.
// Only plain names directly in that directory; a symlink there is not followed.
import { constants } from 'node:fs';
import { type FileHandle, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { badRequest, notFound } from '../errors.js';

/** liblxc names (the runtime's rule): LXD's instance-name alphabet plus `_`. */
const LXC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_FILE_NAME = 255;

export interface OpenLog {
  size: number;
  handle: FileHandle;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class InstanceLogs {
  constructor(private readonly logsDir: string) {}

  /** Every regular file of the container's log directory, by name; none when it has no directory. */
  async list(lxcName: string): Promise<string[]> {
    try {
      const entries = await readdir(this.dir(lxcName), { withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  /** The file opened for reading, with its size now; `not_found` when absent. */
  async open(lxcName: string, file: string): Promise<OpenLog> {
    const path = this.path(lxcName, file);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (isMissing(err)) throw notFound(`open ${path}: no such file or directory`);
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw badRequest(`${file} is not a regular file`);
      return { size: st.size, handle };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Empties the file (the console log); nothing when absent. */
  async clear(lxcName: string, file: string): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.path(lxcName, file), constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    await handle.close();
  }

  /** Removes the file; `not_found` when absent. */
  async remove(lxcName: string, file: string): Promise<void> {
    const path = this.path(lxcName, file);
    try {
      await rm(path);
    } catch (err) {
      if (isMissing(err)) throw notFound(`remove ${path}: no such file or directory`);
      throw err;
    }
  }

  private dir(lxcName: string): string {
    if (!LXC_NAME.test(lxcName)) throw badRequest(`Invalid container name "${lxcName}"`);
    return join(this.logsDir, lxcName);
  }

  private path(lxcName: string, file: string): string {
    if (file === '' || file === '.' || file === '..' || file.length > MAX_FILE_NAME || /[/\0]/.test(file)) {
      throw badRequest(`Invalid log file name "${file}"`);
    }
    return join(this.dir(lxcName), file);
  }
}
