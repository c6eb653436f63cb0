// Response values returned by handlers; only the router turns them into bytes (rest-api.md "Return values").
import type { Readable } from 'node:stream';
import type { Operation } from '@lxdts/api-types';

export interface SyncResponse {
  kind: 'sync';
  metadata: unknown;
  /** Value whose hash becomes the ETag header. */
  etag?: unknown;
  /** Set for creations: HTTP 201 + Location, as LXD's SyncResponseLocation. */
  location?: string;
}

export interface OperationResponse {
  kind: 'async';
  operation: Operation;
}

export interface RawResponse {
  kind: 'raw';
  status: number;
  contentType: string;
  /** A Readable is streamed to the client (downloads), and destroyed if the client goes away. */
  body: string | Buffer | Readable;
  headers?: Record<string, string>;
}

export type HandlerResponse = SyncResponse | OperationResponse | RawResponse;

export const sync = (metadata: unknown, opts: { etag?: unknown; location?: string } = {}): SyncResponse => ({
  kind: 'sync',
  metadata,
  ...opts,
});

/** LXD's EmptySyncResponse carries `{}` as metadata (creations, with a Location, carry null). */
export const emptySync = (): SyncResponse => ({ kind: 'sync', metadata: {} });

export const created = (location: string): SyncResponse => ({ kind: 'sync', metadata: null, location });

export const async = (operation: Operation): OperationResponse => ({ kind: 'async', operation });

export const raw = (status: number, contentType: string, body: string | Buffer | Readable): RawResponse => ({
  kind: 'raw',
  status,
  contentType,
  body,
});
