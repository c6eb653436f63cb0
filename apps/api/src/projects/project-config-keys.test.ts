import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../http/api-error.js';
import { projectConfigProblem } from './project-config-keys.js';
import { validateProjectName } from './project-name.js';

test('project config keys are validated with LXD messages', () => {
  assert.equal(projectConfigProblem({ 'features.images': 'true', 'limits.memory': '1GB', 'user.anything': 'x' }), null);
  assert.equal(projectConfigProblem({ foo: 'bar' }), 'Invalid project configuration key "foo"');
  assert.equal(
    projectConfigProblem({ 'features.profiles': 'maybe' }),
    'Invalid project configuration key "features.profiles" value: Invalid value for a boolean "maybe"',
  );
  assert.match(projectConfigProblem({ 'limits.cpu': 'x' })!, /^Invalid project configuration key "limits.cpu" value: Invalid value for uint32/);
  assert.equal(
    projectConfigProblem({ 'restricted.devices.nic': 'maybe' }),
    'Invalid project configuration key "restricted.devices.nic" value: Invalid value "maybe" (not one of [block allow managed])',
  );
  assert.equal(projectConfigProblem({ 'restricted.devices.disk.paths': '/srv,/home' }), null);
  assert.match(projectConfigProblem({ 'restricted.devices.disk.paths': 'srv' })!, /Must be absolute file path/);
  assert.match(projectConfigProblem({ 'restricted.networks.subnets': 'nocolon' })!, /must be in the format/);
  assert.equal(projectConfigProblem({ 'images.compression_algorithm': 'xz -9' }), null);
  assert.match(projectConfigProblem({ 'backups.compression_algorithm': 'foo' })!, /executable file not found/);
  assert.equal(projectConfigProblem({ 'images.default_architecture': 'x86_64' }), null);
  assert.equal(
    projectConfigProblem({ restricted: 'true', 'features.profiles': 'false' }),
    'Projects without their own profiles cannot be restricted',
  );
});

test('project names refuse what LXD refuses', () => {
  assert.doesNotThrow(() => validateProjectName('p-1.x'));
  for (const [name, msg] of [
    ['', /No name provided/],
    ['a/b', /cannot contain "\/"/],
    ['..', /Invalid project name/],
    ['a b', /white space/],
    ['a\u0001b', /control characters/],
    ['a_b', /underscores/],
    ["a'b", /quotes/],
    ['*', /Reserved project name/],
  ] as const) {
    assert.throws(() => validateProjectName(name), (e: unknown) => e instanceof ApiError && e.status === 400 && msg.test(e.message));
  }
});
