// LXD parses every body as JSON whatever its content type, so one parser takes all content types: it buffers the
// raw bytes (handlers decode them) up to the route's limit, or hands streaming routes the untouched stream.
import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error.js';

const tooLarge = () => new ApiError(413, 'Request body is too large');

export function installBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    const streamBody = (req.routeOptions.config as { streamBody?: boolean | 'octet-stream' }).streamBody;
    if (streamBody === true || (streamBody === 'octet-stream' && /^application\/octet-stream\s*(;|$)/i.test(req.headers['content-type'] ?? ''))) {
      done(null, payload);
      return;
    }
    const limit = req.routeOptions.bodyLimit ?? Infinity;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      payload.resume();
      done(tooLarge(), undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    payload.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        done(tooLarge(), undefined);
        return;
      }
      chunks.push(chunk);
    });
    payload.on('end', () => {
      if (!failed) done(null, Buffer.concat(chunks));
    });
    payload.on('error', (err) => {
      if (!failed) {
        failed = true;
        done(err, undefined);
      }
    });
  });
}
