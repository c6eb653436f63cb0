// The API's typed client for the host agent: HTTP/1.1 + JSON over $LXD_DIR/agent.socket, keep-alive.
// One method per agent endpoint; a failed call throws AgentRequestError with the agent's status and code.
import { Agent, request } from 'node:http';
import type {
  AgentErrorBody,
  AgentErrorCode,
  AgentExecRequest,
  AgentExecResult,
  AgentImageDeleteRequest,
  AgentImageUnpackRequest,
  AgentImageUnpackResult,
  AgentInstanceSpec,
  AgentInstanceState,
  AgentInstanceSummary,
  AgentReady,
  AgentStartResult,
  AgentStopRequest,
  AgentVolumeCreateRequest,
  AgentVolumeCreateResult,
  AgentVolumeDeleteRequest,
  AgentVolumeRenameRequest,
} from '@lxdts/api-types';

export class AgentRequestError extends Error {
  constructor(
    /** The agent's HTTP status; 503 when the agent could not be reached. */
    readonly status: number,
    readonly code: AgentErrorCode | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'AgentRequestError';
  }
}

export interface AgentCallOptions {
  /** Give up after this long (the agent may still finish the work). Default: no limit. */
  timeoutMs?: number;
}

const enc = encodeURIComponent;

class StaleConnectionError extends Error {}

export class AgentClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(readonly socketPath: string) {}

  ready(options: AgentCallOptions = { timeoutMs: 5_000 }): Promise<AgentReady> {
    return this.call('GET', '/ready', undefined, options);
  }

  /** Every container under the agent's lxcpath, running or not (for the daemon's reconcile at start). */
  listInstances(): Promise<AgentInstanceSummary[]> {
    return this.call('GET', '/instances');
  }

  start(spec: AgentInstanceSpec, options?: AgentCallOptions): Promise<AgentStartResult> {
    return this.call('POST', `/instances/${enc(spec.lxcName)}/start`, { spec }, options);
  }

  async stop(lxcName: string, req: AgentStopRequest, options?: AgentCallOptions): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/stop`, req, options);
  }

  async freeze(lxcName: string): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/freeze`);
  }

  /** Applies `limits.*` to a running container's cgroups. */
  async applyLimits(lxcName: string, req: { config: Record<string, string> }): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/limits`, req);
  }

  async unfreeze(lxcName: string): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/unfreeze`);
  }

  state(lxcName: string, options?: AgentCallOptions): Promise<AgentInstanceState> {
    return this.call('GET', `/instances/${enc(lxcName)}/state`, undefined, options);
  }

  async rename(lxcName: string, newLxcName: string): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/rename`, { newLxcName });
  }

  /** Removes the container's liblxc config, logs and seccomp policy (not its volume). */
  async delete(lxcName: string): Promise<void> {
    await this.call('POST', `/instances/${enc(lxcName)}/delete`);
  }

  execSimple(lxcName: string, req: AgentExecRequest, options?: AgentCallOptions): Promise<AgentExecResult> {
    return this.call('POST', `/instances/${enc(lxcName)}/exec-simple`, req, options);
  }

  unpackImage(req: AgentImageUnpackRequest, driver = 'dir'): Promise<AgentImageUnpackResult> {
    return this.call('POST', `/storage/${enc(driver)}/image/unpack`, req);
  }

  async deleteImage(req: AgentImageDeleteRequest, driver = 'dir'): Promise<void> {
    await this.call('POST', `/storage/${enc(driver)}/image/delete`, req);
  }

  createVolume(req: AgentVolumeCreateRequest, driver = 'dir'): Promise<AgentVolumeCreateResult> {
    return this.call('POST', `/storage/${enc(driver)}/volume/create`, req);
  }

  async deleteVolume(req: AgentVolumeDeleteRequest, driver = 'dir'): Promise<void> {
    await this.call('POST', `/storage/${enc(driver)}/volume/delete`, req);
  }

  async renameVolume(req: AgentVolumeRenameRequest, driver = 'dir'): Promise<void> {
    await this.call('POST', `/storage/${enc(driver)}/volume/rename`, req);
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, options: AgentCallOptions = {}): Promise<T> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    try {
      return await this.send<T>(method, path, data, options);
    } catch (err) {
      // A kept-alive connection the agent had just closed: the request never reached it, send it again once.
      if (err instanceof StaleConnectionError) return this.send<T>(method, path, data, options);
      throw err;
    }
  }

  private send<T>(method: string, path: string, data: string | undefined, options: AgentCallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path,
          headers: data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new AgentRequestError(502, 'internal', `Agent response failed: ${err.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              reject(new AgentRequestError(502, 'internal', `Agent sent invalid JSON for ${method} ${path}`));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve(parsed as T);
              return;
            }
            const e = parsed as Partial<AgentErrorBody>;
            reject(new AgentRequestError(status, e.code ?? 'internal', e.error ?? `Agent answered ${status} for ${method} ${path}`));
          });
        },
      );
      if (options.timeoutMs) {
        req.setTimeout(options.timeoutMs, () =>
          req.destroy(new AgentRequestError(504, 'timeout', `Agent did not answer ${method} ${path} within ${options.timeoutMs} ms`)),
        );
      }
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof AgentRequestError) reject(err);
        else if (req.reusedSocket && err.code === 'ECONNRESET') reject(new StaleConnectionError());
        else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
          reject(new AgentRequestError(503, 'unavailable', `The host agent is not reachable on ${this.socketPath}: ${err.code}`));
        } else reject(new AgentRequestError(502, 'internal', `Agent request failed: ${err.message}`));
      });
      req.end(data);
    });
  }
}
