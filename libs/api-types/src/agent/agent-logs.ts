// A container's log directory on the host (`$LXD_DIR/logs/<lxcName>/`): liblxc's lxc.log, the console log, and the
// record-output files of `exec` (exec_<operation>.stdout|stderr). The agent serves the files' bytes as they are;
// which names LXD's REST API exposes (lxc.log, exec_*, …) is decided by the API.
//
//   GET  /instances/:lxcName/logs               AgentLogList (every regular file, sorted by name)
//   GET  /instances/:lxcName/logs/:file         the raw bytes (application/octet-stream, Content-Length);
//                                               404 `not_found` when absent
//   POST /instances/:lxcName/logs/:file/clear   empties the file (the console log; nothing when absent)
//   POST /instances/:lxcName/logs/:file/delete  removes the file; 404 `not_found` when absent

export interface AgentLogList {
  files: string[];
}

export const agentLogPath = (lxcName: string, file?: string): string =>
  `/instances/${encodeURIComponent(lxcName)}/logs${file === undefined ? '' : `/${encodeURIComponent(file)}`}`;
