// The agent's log endpoints (libs/api-types agent-logs.ts): the list as JSON, a file as a raw byte stream (as the
// file pull does), clear and delete.
import { pipeline } from 'node:stream/promises';
import type { AgentLogList } from '@lxdts/api-types';
import { exactLength } from '../server/exact-length.js';
import type { AgentRoute, AgentStreamRoute } from '../server/http-server.js';
import type { InstanceLogs } from './instance-logs.js';

export function instanceLogRoutes(logs: InstanceLogs): (AgentRoute | AgentStreamRoute)[] {
  const name = (params: Record<string, string>) => params['lxcName'] as string;
  const file = (params: Record<string, string>) => params['file'] as string;
  return [
    {
      method: 'GET',
      path: '/instances/:lxcName/logs',
      handler: async ({ params }): Promise<AgentLogList> => ({ files: await logs.list(name(params)) }),
    },
    {
      method: 'GET',
      path: '/instances/:lxcName/logs/:file',
      stream: async ({ params, res }) => {
        const { size, handle } = await logs.open(name(params), file(params));
        try {
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
          if (size === 0) {
            res.end();
            return;
          }
          // The size when opened: a log still being written is cut there; one emptied meanwhile aborts the response.
          await pipeline(handle.createReadStream({ start: 0, end: size - 1, autoClose: false }), exactLength(size), res);
        } catch (err) {
          // The reader went away: nothing to report to anyone.
          if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
          throw err;
        } finally {
          await handle.close().catch(() => undefined);
        }
      },
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/logs/:file/clear',
      handler: async ({ params }) => logs.clear(name(params), file(params)),
    },
    {
      method: 'POST',
      path: '/instances/:lxcName/logs/:file/delete',
      handler: async ({ params }) => logs.remove(name(params), file(params)),
    },
  ];
}
