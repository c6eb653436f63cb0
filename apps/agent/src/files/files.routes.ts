// The agent's file endpoints (see libs/api-types agent-files.ts): GET streams a path out, POST streams a file in,
// stat and delete are JSON. Every request names the container's rootfs; the path inside it is resolved by
// ContainerFiles the container's way.
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  AGENT_FILE_INFO_HEADER,
  type AgentFileInfo,
  type AgentFilePushRequest,
  type AgentFilePushResult,
  type AgentFileRequest,
} from '@lxdts/api-types';
import { AgentError, badRequest, notFound } from '../errors.js';
import { type Json, asObject, str } from '../server/body.js';
import { exactLength } from '../server/exact-length.js';
import type { AgentRoute, AgentStreamRoute } from '../server/http-server.js';
import { ContainerFiles, UnsupportedFileError } from './container-files.js';
import { ContainerPathError } from './container-root.js';

/** Longest container path accepted (PATH_MAX). */
const MAX_PATH = 4096;
const MAX_ID = 0xfffffffe;

export function fileRoutes(files: ContainerFiles = new ContainerFiles()): (AgentRoute | AgentStreamRoute)[] {
  return [
    {
      method: 'GET',
      path: '/instances/:lxcName/files',
      stream: async ({ query, res }) => {
        const req = fileRequest(queryObject(query));
        const r = await run(() => files.read(req.rootfsPath, req.path));
        const info = JSON.stringify(r.info);
        if (r.kind === 'directory' || r.kind === 'symlink') {
          const body = r.kind === 'directory' ? Buffer.from(JSON.stringify(r.entries)) : r.target;
          res.writeHead(200, {
            'Content-Type': r.kind === 'directory' ? 'application/json' : 'application/octet-stream',
            'Content-Length': body.length,
            [AGENT_FILE_INFO_HEADER]: info,
          });
          res.end(body);
          return;
        }
        const size = r.info.size;
        try {
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size, [AGENT_FILE_INFO_HEADER]: info });
          if (size === 0) {
            res.end();
            return;
          }
          // Exactly `size` bytes: a file that grows is cut, one that shrinks aborts the response (never a short body).
          await pipeline(r.handle.createReadStream({ start: 0, end: size - 1 }), exactLength(size), res);
        } catch (err) {
          // The reader went away: nothing to report to anyone.
          if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
          throw err;
        } finally {
          await r.handle.close().catch(() => undefined);
        }
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/files',
      stream: async ({ query, req, res }) => {
        const push = pushRequest(queryObject(query));
        const result: AgentFilePushResult = await run(() => files.push(push, push.type === 'directory' ? undefined : req));
        const text = JSON.stringify(result);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/files/stat',
      handler: async ({ body }): Promise<AgentFileInfo> => {
        const req = fileRequest(asObject(body ?? {}));
        return run(() => files.stat(req.rootfsPath, req.path));
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/files/delete',
      handler: async ({ body }) => {
        const req = fileRequest(asObject(body ?? {}));
        await run(() => files.remove(req.rootfsPath, req.path));
      },
    },
  ];
}

/** Maps file errors to the agent's codes: a missing path is `not_found`, refused types `bad_request`. */
async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ContainerPathError) {
      throw err.code === 'ENOENT' ? notFound(err.message) : new AgentError('internal', err.message);
    }
    if (err instanceof UnsupportedFileError) throw badRequest(err.message);
    throw err;
  }
}

function queryObject(query: URLSearchParams): Json {
  const o: Json = {};
  for (const [k, v] of query) if (!(k in o)) o[k] = v;
  return o;
}

function fileRequest(o: Json): AgentFileRequest {
  const rootfsPath = str(o, 'rootfsPath');
  const path = str(o, 'path');
  // The rootfs comes from the daemon: an absolute, clean host path, never `/` itself.
  if (!rootfsPath.startsWith('/') || posix.normalize(rootfsPath) !== rootfsPath || rootfsPath === '/' || rootfsPath.endsWith('/')) {
    throw badRequest(`Invalid rootfsPath "${rootfsPath}"`);
  }
  if (path === '' || path.length > MAX_PATH || path.includes('\0')) throw badRequest('Invalid path');
  return { rootfsPath, path };
}

function pushRequest(o: Json): AgentFilePushRequest {
  const base = fileRequest(o);
  const type = str(o, 'type');
  if (type !== 'file' && type !== 'directory' && type !== 'symlink') throw badRequest(`Invalid type "${type}"`);
  const write = str(o, 'write', true) ?? 'overwrite';
  if (write !== 'overwrite' && write !== 'append') throw badRequest(`Invalid write mode "${write}"`);
  const id = (key: string, max: number): number => {
    const v = str(o, key, true) ?? '-1';
    const n = /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < -1 || n > max) throw badRequest(`Invalid ${key} "${v}"`);
    return n;
  };
  return { ...base, type, write, uid: id('uid', MAX_ID), gid: id('gid', MAX_ID), mode: id('mode', 0o777) };
}
