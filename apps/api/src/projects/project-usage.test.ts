import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ProfileRecord, type ProjectInventory, profileUpdateProblem, projectState, projectUpdateProblem } from './project-usage.js';

const root = (size?: string): Record<string, Record<string, string>> => ({
  root: { type: 'disk', path: '/', pool: 'default', ...(size ? { size } : {}) },
});

function inventory(): ProjectInventory {
  return {
    instances: [
      { name: 'c1', type: 0, config: { 'limits.cpu': '2' }, devices: {}, profileIds: [1] },
      { name: 'v1', type: 1, config: {}, devices: root('10GiB'), profileIds: [1, 2] },
    ],
    profiles: new Map<number, ProfileRecord>([
      [1, { id: 1, name: 'default', config: { 'limits.memory': '1GiB', 'limits.cpu': '1' }, devices: root() }],
      [2, { id: 2, name: 'big', config: { 'limits.memory': '2GiB' }, devices: {} }],
    ]),
    volumes: [{ name: 'vol', size: '1GiB' }, { name: 'nosize', size: undefined }],
    createdNetworks: 1,
  };
}

test('project state sums effective instance values; unset limits are -1', () => {
  const state = projectState('p', { 'limits.memory': '8GiB', 'limits.instances': '5' }, inventory());
  assert.deepEqual(Object.keys(state.resources), ['containers', 'cpu', 'disk', 'instances', 'memory', 'networks', 'processes', 'virtual-machines']);
  assert.deepEqual(state.resources.cpu, { Limit: -1, Usage: 3 }); // c1 own 2, v1 from profile 1
  assert.deepEqual(state.resources.memory, { Limit: 8 * 1024 ** 3, Usage: 3 * 1024 ** 3 }); // 1GiB + 2GiB (profile 2 wins)
  // 1GiB volume + v1 root 10GiB + VM state 100MiB; c1's root disk has no size and is skipped.
  assert.deepEqual(state.resources.disk, { Limit: -1, Usage: 11 * 1024 ** 3 + 100 * 1024 ** 2 });
  assert.deepEqual(state.resources.instances, { Limit: 5, Usage: 2 });
  assert.deepEqual(state.resources.containers, { Limit: -1, Usage: 1 });
  assert.deepEqual(state.resources['virtual-machines'], { Limit: -1, Usage: 1 });
  assert.deepEqual(state.resources.networks, { Limit: -1, Usage: 1 });
  assert.deepEqual(state.resources.processes, { Limit: -1, Usage: 0 });
});

test('project limits cannot drop below what is in use', () => {
  const inv = inventory();
  assert.equal(projectUpdateProblem('p', { 'limits.instances': '2' }, ['limits.instances'], inv), null);
  assert.match(projectUpdateProblem('p', { 'limits.instances': '1' }, ['limits.instances'], inv)!, /"limits.instances" is too low: there currently are 2 total/);
  assert.match(projectUpdateProblem('p', { 'limits.containers': '0' }, ['limits.containers'], inv)!, /instances of type container/);
  assert.equal(projectUpdateProblem('p', { 'limits.memory': '3GiB' }, ['limits.memory'], inv), null);
  assert.equal(projectUpdateProblem('p', { 'limits.memory': '2GiB' }, ['limits.memory'], inv), '"limits.memory" is too low: current total is "3.0GiB"');
  // Every instance must define a limit before the project can cap it.
  assert.match(projectUpdateProblem('p', { 'limits.processes': '10' }, ['limits.processes'], inv)!, /Instance "c1" in project "p" has no "limits.processes" config/);
});

test('profile changes are checked against aggregate limits and restrictions', () => {
  const inv = inventory();
  const bigger = { id: 2, name: 'big', config: { 'limits.memory': '9GiB' }, devices: {} };
  assert.match(profileUpdateProblem('p', { 'limits.memory': '8GiB' }, inv, bigger)!, /Reached maximum aggregate value "8GiB" for "limits.memory"/);
  assert.equal(profileUpdateProblem('p', { 'limits.memory': '12GiB' }, inv, bigger), null);
  const nesting = { id: 3, name: 'nest', config: { 'security.nesting': 'true' }, devices: {} };
  assert.match(profileUpdateProblem('p', { restricted: 'true' }, { ...inv, instances: [] }, nesting)!, /Container nesting is forbidden/);
  assert.equal(profileUpdateProblem('p', { restricted: 'true', 'restricted.containers.nesting': 'allow' }, { ...inv, instances: [] }, nesting), null);
});
