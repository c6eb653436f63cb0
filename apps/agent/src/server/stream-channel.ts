// The agent's side of one upgraded, framed stream (exec and console share the framing of
// libs/api-types/src/agent/agent-exec.ts): decodes what the API sends into events for the session, times out a
// missing start frame, writes frames back with backpressure, refuses with an error frame, and reports the API
// going away. The session keeps its own state machine; this holds only what both sessions do with the socket.
import type { Duplex } from 'node:stream';
import {
  type AgentErrorBody,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  AgentExecStream,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentError, badRequest, toAgentError } from '../errors.js';
import type { AgentLogger } from '../log.js';

/** What the session does with the frames the API sends. */
export interface StreamChannelEvents<S> {
  /** The first start frame, decoded (a bad or duplicate one is a `fail`). */
  start(start: S): void;
  /** Data on stream 0. */
  input(data: Buffer): void;
  /** Eof on stream 0. */
  inputEnd(): void;
  control(payload: Buffer): void;
  /** No start frame in time, a bad one, or a second one. */
  fail(err: unknown): void;
  /** The socket closed (the API went away, or `destroy`); called once. */
  closed(): void;
}

export interface StreamChannelOptions<S> {
  /** For log lines: "exec c1", "console c1". */
  label: string;
  log: AgentLogger;
  /** How long the API has to send the start frame. */
  startTimeoutMs: number;
  /** Validates the start frame's JSON (throws AgentError). */
  decodeStart(value: unknown): S;
  events: StreamChannelEvents<S>;
}

export class AgentStreamChannel<S> {
  private readonly decoder = new AgentExecFrameDecoder();
  private readonly startTimer: NodeJS.Timeout;
  private startReceived = false;
  private isClosed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly options: StreamChannelOptions<S>,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    // The API never half-closes (the end of input has its own eof frame): the end of its side is the end of the session.
    socket.on('end', () => socket.destroy());
    socket.on('close', () => this.closedByPeer());
    this.startTimer = setTimeout(() => options.events.fail(badRequest('No start frame received')), options.startTimeoutMs);
    this.startTimer.unref();
  }

  /** The socket has closed: nothing more is sent. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes from the API (the server also passes what arrived with the upgrade request). */
  receive(chunk: Buffer): void {
    const { events, log, label } = this.options;
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      log.warn(`${label}: ${(err as Error).message}; closing`);
      this.socket.destroy();
      return;
    }
    for (const f of frames) {
      switch (f.kind) {
        case AgentExecFrameKind.Start:
          this.onStart(f.payload);
          break;
        case AgentExecFrameKind.Data:
          if (f.stream === AgentExecStream.Stdin) events.input(f.payload);
          break;
        case AgentExecFrameKind.Eof:
          if (f.stream === AgentExecStream.Stdin) events.inputEnd();
          break;
        case AgentExecFrameKind.Control:
          events.control(f.payload);
          break;
        default:
          log.warn(`${label}: unexpected frame kind ${f.kind}; closing`);
          this.socket.destroy();
          return;
      }
    }
  }

  private onStart(payload: Buffer): void {
    const { events } = this.options;
    if (this.startReceived) {
      events.fail(badRequest('Duplicate start frame'));
      return;
    }
    this.startReceived = true;
    clearTimeout(this.startTimer);
    let start: S;
    try {
      start = this.options.decodeStart(JSON.parse(payload.toString('utf8')));
    } catch (err) {
      events.fail(err instanceof SyntaxError ? badRequest('Start frame is not valid JSON') : err);
      return;
    }
    events.start(start);
  }

  /** The session runs: the `started` frame. */
  started(body: unknown): void {
    this.send(encodeAgentExecJson(AgentExecFrameKind.Started, body));
  }

  /** Output on `stream`; when the API reads slower than `source` writes, `source` waits for the socket to drain. */
  output(stream: number, chunk: Buffer, source?: NodeJS.ReadableStream): void {
    if (!this.send(encodeAgentExecFrame(AgentExecFrameKind.Data, stream, chunk)) && source) {
      source.pause();
      this.socket.once('drain', () => source.resume());
    }
  }

  eof(stream: number): void {
    this.send(encodeAgentExecFrame(AgentExecFrameKind.Eof, stream));
  }

  /** The last frame of a session that ran: `exit`, then the socket is ended. */
  exit(body: unknown): void {
    clearTimeout(this.startTimer);
    this.send(encodeAgentExecJson(AgentExecFrameKind.Exit, body));
    this.socket.end();
  }

  /** The last frame of a refused or failed session: `error`, then the socket is ended. Unexpected errors are logged. */
  refuse(err: unknown): void {
    clearTimeout(this.startTimer);
    const e = toAgentError(err);
    if (!(err instanceof AgentError)) this.options.log.error(`${this.options.label}: ${(err as Error)?.stack ?? String(err)}`);
    this.send(encodeAgentExecJson(AgentExecFrameKind.Error, { error: e.message, code: e.code } satisfies AgentErrorBody));
    this.socket.end();
  }

  /** Input from the API into `sink`; when `sink` is backed up, reading from the API waits for it to drain. */
  writeInput(sink: NodeJS.WritableStream, data: Buffer): void {
    if (!sink.write(data)) {
      this.socket.pause();
      sink.once('drain', () => this.socket.resume());
    }
  }

  /** Closes the connection from the agent's side (shutdown); `closed` follows. */
  destroy(): void {
    this.socket.destroy();
  }

  /** false: the socket is backed up (the frame is queued). */
  private send(frame: Buffer): boolean {
    if (this.isClosed || this.socket.destroyed || this.socket.writableEnded) return true;
    return this.socket.write(frame);
  }

  private closedByPeer(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.startTimer);
    this.options.events.closed();
  }
}
