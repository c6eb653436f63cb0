// /1.0/instances/{name}/files: resolves the instance, then has the host agent do the work on its rootfs, streaming
// bodies through in both directions. Works on stopped and running containers alike (the agent works on the rootfs
// from the host, resolving every path the container's way). Semantics: lxd/instance_file.go of LXD 5.0.2.
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { AgentFileInfo, AgentFileRequest } from '@lxdts/api-types';
import { type AgentClient, AgentRequestError } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import { AGENT_CLIENT } from '../daemon/tokens.js';
import { ApiError, badRequest, internalError, notFound } from '../http/api-error.js';
import { INSTANCE_TARGETS, type InstanceTarget, type InstanceTargetResolver } from '../instances/instance-target.js';
import { type PushHeaders, symlinkTargetPath } from './file-headers.js';

export type FileRead =
  | { kind: 'file'; info: AgentFileInfo; body: Readable }
  | { kind: 'directory'; info: AgentFileInfo; entries: string[] }
  | { kind: 'symlink'; info: AgentFileInfo; target: string };

/** Directory listings and link targets are read whole; past this, something is wrong with the agent. */
const SMALL_BODY_LIMIT = 256 * 1024 * 1024;

@Injectable()
export class FilesService {
  constructor(
    @Inject(INSTANCE_TARGETS) private readonly targets: InstanceTargetResolver,
    @Inject(AGENT_CLIENT) private readonly agent: AgentClient,
  ) {}

  /** GET: a file to stream (the caller consumes or destroys `body`), a directory's entries, or a link's target. */
  async read(project: string, name: string, rawPath: string | undefined, identity: Identity): Promise<FileRead> {
    const target = await this.resolve(project, name);
    const path = checkPath(rawPath);
    const { info, body } = await this.agent.readFile(target.lxcName, request(target, path)).catch(fromAgent);
    let result: FileRead;
    if (info.type === 'file') result = { kind: 'file', info, body };
    else {
      const text = await readSmall(body).catch(fromAgent);
      if (info.type === 'directory') result = { kind: 'directory', info, entries: JSON.parse(text) as string[] };
      else result = { kind: 'symlink', info, target: symlinkTargetPath(path, text) };
    }
    this.targets.lifecycle('instance-file-retrieved', project, name, identity, { path });
    return result;
  }

  /** HEAD (api extension instance_file_head): the same headers as GET, no body, no event. */
  async stat(project: string, name: string, rawPath: string | undefined): Promise<AgentFileInfo> {
    const target = await this.resolve(project, name);
    const path = checkPath(rawPath);
    return this.agent.statFile(target.lxcName, request(target, path)).catch(fromAgent);
  }

  /** POST: creates or writes a file (streamed), a directory or a symlink (the body is its target). */
  async push(project: string, name: string, rawPath: string | undefined, headers: PushHeaders, body: Readable | undefined, identity: Identity): Promise<void> {
    const target = await this.resolve(project, name);
    const path = checkPath(rawPath);
    if (headers.write !== 'overwrite' && headers.write !== 'append') throw badRequest(`Bad file write mode: ${headers.write}`);
    const type = headers.type;
    if (type !== 'file' && type !== 'directory' && type !== 'symlink') throw badRequest(`Bad file type: ${type}`);
    const result = await this.agent
      .pushFile(
        target.lxcName,
        { ...request(target, path), type, write: headers.write, uid: headers.uid, gid: headers.gid, mode: headers.mode },
        type === 'directory' ? undefined : body,
      )
      .catch(fromAgent);
    // LXD is silent when nothing changed (the directory existed, the link already pointed there).
    if (result.changed) this.targets.lifecycle('instance-file-pushed', project, name, identity, { path });
  }

  /** DELETE (api extension file_delete): a file, a symlink or an empty directory. */
  async remove(project: string, name: string, rawPath: string | undefined, identity: Identity): Promise<void> {
    const target = await this.resolve(project, name);
    const path = checkPath(rawPath);
    await this.agent.deleteFile(target.lxcName, request(target, path)).catch(fromAgent);
    this.targets.lifecycle('instance-file-deleted', project, name, identity, { path });
  }

  private resolve(project: string, name: string): Promise<InstanceTarget> {
    // A snapshot's files are not reachable here (LXD: shared.IsSnapshot).
    if (name.includes('/')) throw badRequest('Invalid instance name');
    return this.targets.resolve(project, name);
  }
}

/** `?path=` is required; LXD makes it absolute. */
function checkPath(path: string | undefined): string {
  if (!path) throw badRequest('Missing path argument');
  if (path.includes('\0')) throw badRequest('Invalid path');
  return path.startsWith('/') ? path : `/${path}`;
}

const request = (target: InstanceTarget, path: string): AgentFileRequest => ({ rootfsPath: target.rootfsPath, path });

/** LXD's answers: a missing path is 404 "Not Found" (SmartError of os.ErrNotExist), a refused request 400. */
function fromAgent(err: unknown): never {
  if (!(err instanceof AgentRequestError)) throw err;
  if (err.code === 'not_found') throw notFound('Not Found');
  if (err.code === 'bad_request') throw badRequest(err.message);
  if (err.code === 'unavailable') throw new ApiError(503, err.message);
  throw internalError(err.message);
}

async function readSmall(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > SMALL_BODY_LIMIT) {
      body.destroy();
      throw internalError('Agent answer too large');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
