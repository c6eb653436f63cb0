import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesFilter, parseFilter } from './filter.js';
import { ApiError } from './api-error.js';

const c1 = { name: 'my container', status: 'Running', config: { 'image.os': 'Debian' }, devices: { eth0: { nictype: 'bridged' } } };
const c2 = { name: 'c2', status: 'Stopped', config: {}, update_source: { protocol: 'simplestreams' } };

test('filter: eq, ne, quoted values, dotted map keys', () => {
  assert.equal(matchesFilter(c1, parseFilter('name eq "my container" and status eq Running')), true);
  assert.equal(matchesFilter(c1, parseFilter('config.image.os eq Debian')), true);
  assert.equal(matchesFilter(c1, parseFilter('devices.eth0.nictype ne bridged')), false);
  assert.equal(matchesFilter(c2, parseFilter('UpdateSource.Protocol eq simplestreams')), true);
});

test('filter: not, or, left associativity, parentheses, regex values', () => {
  assert.equal(matchesFilter(c2, parseFilter('not status eq Running')), true);
  assert.equal(matchesFilter(c2, parseFilter('name eq nothing or status eq Stopped')), true);
  assert.equal(matchesFilter(c2, parseFilter('name eq c2 and (status eq Running or status eq Stopped)')), true);
  assert.equal(matchesFilter(c2, parseFilter('name eq c.*')), true);
  assert.equal(parseFilter(''), null);
});

test('filter: syntax errors are 400s', () => {
  for (const bad of ['name', 'name gt 1', 'name eq', '(name eq a', 'name eq "x']) {
    assert.throws(() => parseFilter(bad), (e: unknown) => e instanceof ApiError && e.status === 400, bad);
  }
});
