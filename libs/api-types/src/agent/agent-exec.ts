// Streaming exec between the API and the host agent (LXD's websocket exec is built on it).
//
// The API opens `GET /instances/:lxcName/exec` on the agent socket with `Connection: Upgrade` and
// `Upgrade: lxdts-exec`; the agent answers `101 Switching Protocols` (or a JSON AgentErrorBody for a bad request),
// then both sides exchange frames on the raw socket until the agent has sent `exit` or `error` and closed it:
//
//   [kind u8][stream u8][payload length u32 big-endian][payload]
//
//   API → agent   start    (JSON AgentExecStart; the first frame, exactly once)
//                 data     stream 0: bytes for the command's stdin (the pty in interactive mode)
//                 eof      stream 0: close the command's stdin
//                 control  (JSON AgentExecControl): a signal for the command, or a new window size
//   agent → API   started  (JSON AgentExecStarted) once the command runs (armed: once it is ready to run)
//                 data     stream 1 stdout (the pty output in interactive mode), stream 2 stderr
//                 eof      stream 1 / 2: that output ended
//                 exit     (JSON AgentExecExit), after both eofs; the agent then closes the socket
//                 error    (JSON AgentErrorBody): the command could not be started; the agent then closes
//
// Armed start (`armed: true`): the agent checks and prepares everything (and may already spawn lxdts-attach, which
// waits) and answers `started`, but the command runs only when the control frame {"type":"go"} arrives; the API
// arms while the client connects its websockets. Input sent before `go` is held until then.
// When the API side closes the socket before `exit`, the agent kills the command.

/** First frame: what to run. The API has already applied LXD's environment and working-directory defaults. */
export interface AgentExecStart {
  command: string[];
  /** The complete environment of the command. */
  env: Record<string, string>;
  /** Working directory inside the container; '' = the container's `/`. */
  cwd: string;
  uid: number;
  gid: number;
  /** true: one pseudo-terminal for stdin/stdout/stderr (output arrives on stream 1); false: three pipes. */
  interactive: boolean;
  /** Initial terminal size (interactive; 0 = leave the default). */
  width: number;
  height: number;
  /** true: prepare now, run on the `go` control frame (see above). */
  armed?: boolean;
}

export type AgentExecControl =
  /** Runs an armed command. */
  | { type: 'go' }
  /** Delivered to the command's process inside the container (LXD forwards to the attached PID). */
  | { type: 'signal'; signal: number }
  /** New pseudo-terminal size (interactive only; ignored otherwise). */
  | { type: 'resize'; width: number; height: number };

export interface AgentExecStarted {
  /** Host pid of the process the agent spawned (lxc-attach, or the pty helper in interactive mode). */
  pid: number;
}

export interface AgentExecExit {
  /** The command's exit code: 127 not found, 126 not executable, 128+N killed by signal N. */
  exitCode: number;
}

/** The path and Upgrade token of the exec stream. */
export const AGENT_EXEC_UPGRADE = 'lxdts-exec';
export const agentExecPath = (lxcName: string): string => `/instances/${encodeURIComponent(lxcName)}/exec`;

export const AgentExecFrameKind = {
  Start: 1,
  Data: 2,
  Eof: 3,
  Control: 4,
  Started: 5,
  Exit: 6,
  Error: 7,
} as const;
export type AgentExecFrameKind = (typeof AgentExecFrameKind)[keyof typeof AgentExecFrameKind];

export const AgentExecStream = { Stdin: 0, Stdout: 1, Stderr: 2 } as const;
export type AgentExecStream = (typeof AgentExecStream)[keyof typeof AgentExecStream];

export interface AgentExecFrame {
  kind: AgentExecFrameKind;
  stream: number;
  payload: Buffer;
}

const HEADER = 6;
/** Larger frames are a protocol error (output is sent in chunks of at most 64 KiB). */
export const AGENT_EXEC_MAX_FRAME = 16 * 1024 * 1024;

export function encodeAgentExecFrame(kind: AgentExecFrameKind, stream: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt8(kind, 0);
  frame.writeUInt8(stream, 1);
  frame.writeUInt32BE(body.length, 2);
  body.copy(frame, HEADER);
  return frame;
}

export const encodeAgentExecJson = (kind: AgentExecFrameKind, value: unknown): Buffer => encodeAgentExecFrame(kind, 0, JSON.stringify(value));

/** Splits a byte stream into frames; partial frames wait for the next chunk. */
export class AgentExecFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Throws on an unknown kind or an oversized frame (the connection is then unusable). */
  push(chunk: Buffer): AgentExecFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: AgentExecFrame[] = [];
    let at = 0;
    while (this.pending.length - at >= HEADER) {
      const kind = this.pending.readUInt8(at);
      if (kind < AgentExecFrameKind.Start || kind > AgentExecFrameKind.Error) throw new Error(`Unknown exec frame kind ${kind}`);
      const length = this.pending.readUInt32BE(at + 2);
      if (length > AGENT_EXEC_MAX_FRAME) throw new Error(`Exec frame of ${length} bytes is too large`);
      if (this.pending.length - at - HEADER < length) break;
      frames.push({
        kind: kind as AgentExecFrameKind,
        stream: this.pending.readUInt8(at + 1),
        payload: Buffer.from(this.pending.subarray(at + HEADER, at + HEADER + length)),
      });
      at += HEADER + length;
    }
    this.pending = at === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(at);
    return frames;
  }

  /** Bytes of an incomplete frame still waiting. */
  get buffered(): number {
    return this.pending.length;
  }
}
