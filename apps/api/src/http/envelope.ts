// Serialises response values into LXD's envelopes. Hot path: GET /1.0 goes through here on every call.
import type { Operation } from '@lxdts/api-types';

export function syncBody(metadata: unknown): string {
  return `{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":${
    metadata === undefined ? 'null' : JSON.stringify(metadata)
  }}`;
}

export function asyncBody(op: Operation): string {
  return `{"type":"async","status":"Operation created","status_code":100,"operation":${JSON.stringify(
    `/1.0/operations/${op.id}`,
  )},"error_code":0,"error":"","metadata":${JSON.stringify(op)}}`;
}

export function errorBody(code: number, message: string): string {
  return `{"type":"error","status":"","status_code":0,"operation":"","error_code":${code},"error":${JSON.stringify(
    message,
  )},"metadata":null}`;
}
