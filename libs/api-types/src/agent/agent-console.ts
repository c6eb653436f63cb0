// The console stream between the API and the host agent (LXD's `POST /1.0/instances/{name}/console` is built on it).
//
// The API opens `GET /instances/:lxcName/console` on the agent socket with `Connection: Upgrade` and
// `Upgrade: lxdts-console`; the agent answers `101 Switching Protocols` (or a JSON AgentErrorBody for a bad request),
// then both sides exchange the exec stream's frames (agent-exec.ts: `[kind u8][stream u8][length u32 BE][payload]`,
// AgentExecFrameDecoder / encodeAgentExecFrame) on the raw socket:
//
//   API → agent   start    (JSON AgentConsoleStart; the first frame, exactly once)
//                 data     stream 0: bytes typed on the console (the container's /dev/console input)
//                 eof      stream 0: detach (the container keeps running)
//                 control  (JSON AgentConsoleControl): a new window size
//   agent → API   started  (JSON AgentConsoleStarted) once attached: the terminal is set up, input is delivered
//                 data     stream 1: console output (raw terminal bytes)
//                 eof      stream 1: the output ended
//                 exit     (JSON AgentConsoleExit) after eof; the agent then closes the socket
//                 error    (JSON AgentErrorBody): could not attach (`conflict`: not running, frozen, console in
//                          use); the agent then closes
//
// When the API side closes the socket, the agent detaches as for eof. Output written while attached also lands in
// the console log (liblxc's monitor writes `lxc.console.logfile` whatever is attached).

/** First frame: the client's terminal size (0 = leave the default). */
export interface AgentConsoleStart {
  width: number;
  height: number;
}

export type AgentConsoleControl = { type: 'resize'; width: number; height: number };

export interface AgentConsoleStarted {
  /** Host pid of the process the agent spawned (the pty helper around lxc-console). */
  pid: number;
}

export interface AgentConsoleExit {
  /** true: ended because the API detached; false: the console went away (the container stopped). */
  detached: boolean;
  /** lxc-console's exit status (0 after a clean detach). */
  exitCode: number;
}

/** The path and Upgrade token of the console stream. */
export const AGENT_CONSOLE_UPGRADE = 'lxdts-console';
export const agentConsolePath = (lxcName: string): string => `/instances/${encodeURIComponent(lxcName)}/console`;
