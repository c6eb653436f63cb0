import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiUrl, pathEscape, projectOfUrl } from './api-url.js';

test('API URLs carry ?project= outside the default project and escape segments like Go', () => {
  assert.equal(apiUrl(['profiles', 'p1']), '/1.0/profiles/p1');
  assert.equal(apiUrl(['profiles', 'p1'], 'default'), '/1.0/profiles/p1');
  assert.equal(apiUrl(['instances', 'c1'], 'my proj'), '/1.0/instances/c1?project=my+proj');
  assert.equal(apiUrl(['storage-pools', 'p', 'volumes', 'custom', 'v'], 'x', 'node1'), '/1.0/storage-pools/p/volumes/custom/v?project=x&target=node1');
  assert.equal(apiUrl(['storage-pools', 'p', 'volumes', 'custom', 'v'], 'default', 'none'), '/1.0/storage-pools/p/volumes/custom/v');
  assert.equal(pathEscape('a b/c%'), 'a%20b%2Fc%25');
  assert.equal(projectOfUrl('/1.0/instances/c1?project=p2'), 'p2');
  assert.equal(projectOfUrl('/1.0/instances/c1'), 'default');
});
