// File endpoints: reading and writing inside a container's root file system from the host (LXD's
// /1.0/instances/{name}/files). Paths are resolved the way the container would resolve them: symlinks and `..`
// never leave `rootfsPath`. Ids are written and reported as stored on disk, which are the container's own ids
// (unprivileged rootfs are idmapped at mount time, not shifted).

/** `other`: a device node, FIFO or socket (reported, never opened). */
export type AgentFileType = 'file' | 'directory' | 'symlink' | 'other';

/** Identifies one path: POST /instances/:lxcName/files/stat and /files/delete take it as their JSON body. */
export interface AgentFileRequest {
  /** Absolute host path of the container's root file system. */
  rootfsPath: string;
  /** Path inside the container; relative paths are taken from `/`. */
  path: string;
}

/** lstat of a path: a final symlink is described, not followed. */
export interface AgentFileInfo {
  type: AgentFileType;
  uid: number;
  gid: number;
  /** st_mode & 07777 (LXD's X-LXD-mode shows only the 0777 part). */
  mode: number;
  size: number;
  /** Modification time, unix seconds. */
  mtime: number;
}

/**
 * GET /instances/:lxcName/files?rootfsPath=&path= streams a path. The AgentFileInfo comes as JSON in this
 * header; the body is the file's bytes (`file`), a JSON array of entry names (`directory`) or the link target as
 * stored (`symlink`). A final symlink is not followed; device nodes, FIFOs and sockets are refused (400).
 */
export const AGENT_FILE_INFO_HEADER = 'x-agent-file-info';

export type AgentFilePushType = 'file' | 'directory' | 'symlink';

/**
 * POST /instances/:lxcName/files?rootfsPath=&path=&type=&write=&uid=&gid=&mode= with the file content (type
 * `file`, streamed) or the link target (type `symlink`) as body. As LXD 5.0.2:
 * - `file` follows a final symlink inside the container; `overwrite` creates or truncates, `append` needs an
 *   existing file; uid/gid/mode apply only to a file it creates (default 0:0, 0644);
 * - `directory` is a no-op when the path exists; otherwise it is created (default mode 0750);
 * - `symlink` is a no-op when the link already has that target; otherwise the path must not exist.
 */
export interface AgentFilePushRequest extends AgentFileRequest {
  type: AgentFilePushType;
  write: 'overwrite' | 'append';
  /** -1 = unset (root). */
  uid: number;
  gid: number;
  /** Permission bits (0-0777); -1 = the default. */
  mode: number;
}

export interface AgentFilePushResult {
  /** false when nothing was done: the directory existed, or the link already had that target. */
  changed: boolean;
}
