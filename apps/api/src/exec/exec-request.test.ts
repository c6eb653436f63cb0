import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBody } from '../http/body-schema.js';
import { DEFAULT_PATH, execCwd, execEnvironment, instanceExecPost, parseExecControl } from './exec-request.js';

const body = (v: unknown) => Buffer.from(JSON.stringify(v));

test('InstanceExecPost decodes as Go does: zero values for missing fields, uint32 user/group', () => {
  // pylxd 2.2.10 sends only these four fields.
  assert.deepEqual(decodeBody(body({ command: ['sh'], environment: {}, 'wait-for-websocket': true, interactive: false }), instanceExecPost), {
    command: ['sh'],
    'wait-for-websocket': true,
    interactive: false,
    environment: {},
    width: 0,
    height: 0,
    'record-output': false,
    user: 0,
    group: 0,
    cwd: '',
  });
  assert.throws(() => decodeBody(body({ command: ['sh'], user: -1 }), instanceExecPost), /cannot unmarshal number -1 into Go struct field InstanceExecPost.user of type uint32/);
  assert.throws(() => decodeBody(body({ command: 'sh' }), instanceExecPost), { status: 400 });
  assert.throws(() => decodeBody(body({ command: ['sh'], environment: { A: 1 } }), instanceExecPost), { status: 400 });
});

test('environment: request over environment.* config; PATH, HOME, USER (root only), LANG defaults; sorted', () => {
  const env = execEnvironment({ environment: { TERM: 'xterm', FOO: 'request' }, user: 0 }, { 'environment.FOO': 'config', 'environment.BAR': 'config', 'limits.cpu': '1' }, () => false);
  assert.deepEqual(Object.entries(env), [
    ['BAR', 'config'],
    ['FOO', 'request'],
    ['HOME', '/root'],
    ['LANG', 'C.UTF-8'],
    ['PATH', DEFAULT_PATH],
    ['TERM', 'xterm'],
    ['USER', 'root'],
  ]);
  assert.deepEqual(execEnvironment({ environment: {}, user: 1000 }, {}, () => false), { LANG: 'C.UTF-8', PATH: DEFAULT_PATH });
  assert.equal(execEnvironment({ environment: {}, user: 0 }, {}, (p) => p === '/snap')['PATH'], `${DEFAULT_PATH}:/snap/bin`);
  assert.equal(execEnvironment({ environment: { PATH: '/bin' }, user: 0 }, {}, () => true)['PATH'], '/bin');
  assert.equal(execEnvironment({ environment: { HOME: '/home/x' }, user: 0 }, {}, () => false)['HOME'], '/home/x');
});

test('cwd: the request, else $HOME, else none', () => {
  assert.equal(execCwd({ cwd: '/tmp' }, { HOME: '/root' }), '/tmp');
  assert.equal(execCwd({ cwd: '' }, { HOME: '/root' }), '/root');
  assert.equal(execCwd({ cwd: '' }, {}), '');
});

test('control messages as the lxc client sends them', () => {
  assert.deepEqual(parseExecControl('{"command":"window-resize","args":{"height":"40","width":"100"},"signal":0}', true), { type: 'resize', width: 100, height: 40 });
  assert.equal(parseExecControl('{"command":"window-resize","args":{"height":"40","width":"100"},"signal":0}', false), null);
  assert.equal(parseExecControl('{"command":"window-resize","args":{"height":"4x","width":"100"}}', true), null);
  assert.deepEqual(parseExecControl('{"command":"signal","args":null,"signal":15}', false), { type: 'signal', signal: 15 });
  assert.equal(parseExecControl('{"command":"other"}', true), null);
  assert.equal(parseExecControl('not json', true), null);
  assert.equal(parseExecControl('null', true), null);
});
