import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootDiskChangeProblem } from './root-disk-guard.js';

const root = (pool: string) => ({ root: { type: 'disk', path: '/', pool } });

test('a profile root pool cannot change under instances that take their root disk from it', () => {
  const dep = { instance: 'c1', ownRootPool: false, profiles: [{ id: 1, deviceNames: ['root'] }, { id: 2, deviceNames: [] }] };
  assert.equal(rootDiskChangeProblem(1, root('a'), root('a'), [dep]), null);
  assert.equal(rootDiskChangeProblem(1, root('a'), root('b'), [dep]), "At least one instance relies on this profile's root disk device");
  assert.equal(rootDiskChangeProblem(1, root('a'), {}, [dep]), "At least one instance relies on this profile's root disk device");
  // A later profile or the instance itself providing the root disk makes the change safe.
  assert.equal(rootDiskChangeProblem(1, root('a'), root('b'), [{ ...dep, profiles: [{ id: 1, deviceNames: ['root'] }, { id: 2, deviceNames: ['root'] }] }]), null);
  assert.equal(rootDiskChangeProblem(1, root('a'), root('b'), [{ ...dep, ownRootPool: true }]), null);
  assert.equal(rootDiskChangeProblem(1, root('a'), root('b'), []), null);
});
