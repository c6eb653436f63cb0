// Opening one of the agent's upgraded, framed streams (exec, console): the upgrade request, the start frame, and the
// wait for the agent's `started` (or `error`) frame. Framing: libs/api-types/src/agent/agent-exec.ts.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import {
  type AgentErrorBody,
  type AgentErrorCode,
  type AgentExecFrame,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentRequestError } from './agent.client.js';

const STATUS: Record<AgentErrorCode, number> = { bad_request: 400, not_found: 404, conflict: 409, timeout: 504, start_failed: 500, internal: 500 };

/** The agent's `{error, code}` as the error the API maps to a status. */
export const agentErrorOf = (body: AgentErrorBody): AgentRequestError =>
  new AgentRequestError(STATUS[body.code] ?? 500, body.code ?? 'internal', body.error);

export interface AgentStreamRequest<C> {
  socketPath: string;
  /** e.g. `/instances/c1/exec` */
  path: string;
  /** The `Upgrade:` token. */
  upgrade: string;
  /** Sent as the first (start) frame. */
  start: unknown;
  timeoutMs: number;
  /** For messages: "exec", "console". */
  name: string;
  /** For the timeout message: "start the command", "attach to the console". */
  action: string;
  /** Builds the connection from the `started` payload; `rest` are frames that came after it in the same read. */
  connect(socket: Socket, decoder: AgentExecFrameDecoder, started: Buffer, rest: AgentExecFrame[]): C;
}

/** Resolves once the agent reports `started`; rejects with AgentRequestError when it refuses or cannot be reached. */
export function openAgentStream<C>(o: AgentStreamRequest<C>): Promise<C> {
  return new Promise<C>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        fn();
      }
    };
    const req = request({ socketPath: o.socketPath, agent: false, method: 'GET', path: o.path, headers: { Connection: 'Upgrade', Upgrade: o.upgrade } });
    const timer = setTimeout(() => {
      req.destroy();
      finish(() => reject(new AgentRequestError(504, 'timeout', `The host agent did not ${o.action} within ${o.timeoutMs} ms`)));
    }, o.timeoutMs);

    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      const decoder = new AgentExecFrameDecoder();
      const pending: AgentExecFrame[] = [];
      const onData = (chunk: Buffer) => {
        let frames: AgentExecFrame[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          socket.destroy();
          finish(() => reject(new AgentRequestError(502, 'internal', `Invalid data from the host agent: ${(err as Error).message}`)));
          return;
        }
        for (let i = 0; i < frames.length; i++) {
          const f = frames[i] as AgentExecFrame;
          if (f.kind === AgentExecFrameKind.Error) {
            socket.destroy();
            finish(() => reject(agentErrorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody)));
            return;
          }
          if (f.kind === AgentExecFrameKind.Started) {
            socket.off('data', onData);
            socket.off('close', onClose);
            const conn = o.connect(socket, decoder, f.payload, [...pending, ...frames.slice(i + 1)]);
            finish(() => resolve(conn));
            return;
          }
          pending.push(f);
        }
      };
      const onClose = () =>
        finish(() => reject(new AgentRequestError(502, 'internal', `The host agent closed the ${o.name} stream before it started`)));
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', () => socket.destroy());
      socket.write(encodeAgentExecJson(AgentExecFrameKind.Start, o.start));
      if (head.length > 0) onData(head);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: Partial<AgentErrorBody> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentErrorBody;
        } catch {
          // Keep the generic message.
        }
        const status = res.statusCode ?? 502;
        finish(() => reject(new AgentRequestError(status, body.code ?? 'internal', body.error ?? `Agent answered ${status} for the ${o.name} stream`)));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish(() => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new AgentRequestError(503, 'unavailable', `The host agent is not reachable on ${o.socketPath}: ${err.code}`));
        } else reject(new AgentRequestError(502, 'internal', `Agent request failed: ${err.message}`));
      });
    });
    req.end();
  });
}
