import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from '../http/api-error.js';
import { consoleType, decodeConsolePost } from './console-request.js';

const body = (s: string) => Buffer.from(s);
const rejects = (fn: () => unknown, message: string) =>
  assert.throws(fn, (e: unknown) => e instanceof ApiError && e.status === 400 && e.message === message);

describe('console request (api.InstanceConsolePost)', () => {
  test('fields with zero values; unknown fields ignored', () => {
    assert.deepEqual(decodeConsolePost(body('{"width":80,"height":24,"type":"console","x":1}')), { width: 80, height: 24, type: 'console' });
    assert.deepEqual(decodeConsolePost(body('{}')), { width: 0, height: 0, type: '' });
    assert.deepEqual(decodeConsolePost(body('null')), { width: 0, height: 0, type: '' });
    assert.deepEqual(decodeConsolePost(body('{"width":null,"height":-3}')), { width: 0, height: -3, type: '' });
  });

  test("Go's errors as LXD answers them", () => {
    rejects(() => decodeConsolePost(undefined), 'unexpected end of JSON input');
    rejects(() => decodeConsolePost(body('  ')), 'unexpected end of JSON input');
    rejects(() => decodeConsolePost(body('{"width":"x"}')), 'json: cannot unmarshal string into Go struct field InstanceConsolePost.width of type int');
    rejects(() => decodeConsolePost(body('{"width":1.5}')), 'json: cannot unmarshal number 1.5 into Go struct field InstanceConsolePost.width of type int');
    rejects(() => decodeConsolePost(body('{"height":true}')), 'json: cannot unmarshal bool into Go struct field InstanceConsolePost.height of type int');
    rejects(() => decodeConsolePost(body('{"type":5}')), 'json: cannot unmarshal number into Go struct field InstanceConsolePost.type of type string');
    rejects(() => decodeConsolePost(body('[1]')), 'json: cannot unmarshal array into Go value of type api.InstanceConsolePost');
  });

  test('type: console by default; vga is for virtual machines; anything else is unknown', () => {
    assert.equal(consoleType({ width: 0, height: 0, type: '' }), 'console');
    assert.equal(consoleType({ width: 0, height: 0, type: 'console' }), 'console');
    rejects(() => consoleType({ width: 0, height: 0, type: 'vga' }), 'VGA console is only supported by virtual machines');
    rejects(() => consoleType({ width: 0, height: 0, type: 'foo' }), 'Unknown console type "foo"');
  });
});
