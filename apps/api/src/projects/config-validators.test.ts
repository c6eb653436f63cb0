import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isBool,
  isCpuSet,
  isCron,
  isExpiry,
  isInt64,
  isListOf,
  isMemoryLimit,
  isOneOf,
  isPriority,
  isUint32,
  isUint32Range,
  optional,
  parseByteSize,
  required,
} from './config-validators.js';

test('booleans, integers and priorities use LXD messages', () => {
  for (const ok of ['true', 'FALSE', 'yes', 'no', '1', '0', 'on', 'off']) assert.equal(isBool(ok), null);
  assert.equal(isBool('maybe'), 'Invalid value for a boolean "maybe"');
  assert.equal(isInt64('-12'), null);
  assert.equal(isInt64('9223372036854775808'), 'Invalid value for an integer "9223372036854775808"');
  assert.equal(isInt64('1.5'), 'Invalid value for an integer "1.5"');
  assert.equal(isUint32('4294967295'), null);
  assert.match(isUint32('4294967296')!, /value out of range/);
  assert.match(isUint32('-1')!, /invalid syntax/);
  assert.equal(isPriority('10'), null);
  assert.equal(isPriority('11'), 'Invalid value for a limit "11". Must be between 0 and 10');
});

test('byte sizes parse like units.ParseByteSizeString', () => {
  assert.equal(parseByteSize('512MB'), 512_000_000);
  assert.equal(parseByteSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseByteSize('1024'), 1024);
  assert.equal(parseByteSize(''), 0);
  assert.throws(() => parseByteSize('bogus'), /^Error: Invalid value: bogus$/);
  assert.throws(() => parseByteSize('1.5GB'), /Invalid value: 1.5GB/);
  assert.throws(() => parseByteSize('5 MB'), /Invalid value/);
  assert.throws(() => parseByteSize('9EiB'), /Overflow/);
});

test('memory limits accept sizes and non-zero percentages', () => {
  assert.equal(isMemoryLimit('512MB'), null);
  assert.equal(isMemoryLimit('50%'), null);
  assert.equal(isMemoryLimit('0%'), "Memory limit can't be 0%");
  assert.equal(isMemoryLimit('0'), "Memory limit can't be 0");
  assert.equal(isMemoryLimit('lots'), 'Invalid value: lots');
});

test('cpu sets, cron schedules and expiries', () => {
  assert.equal(isCpuSet('2'), null);
  assert.equal(isCpuSet('0-3,5'), null);
  assert.equal(isCpuSet('0-1,1'), 'Cannot define CPU multiple times');
  assert.equal(isCpuSet('a'), 'Invalid CPU limit syntax');
  const cron = isCron(['@daily']);
  assert.equal(cron('@daily'), null);
  assert.equal(cron('0 6 * * *'), null);
  assert.equal(cron('*/5 0-6 1,15 jan-mar mon'), null);
  assert.equal(cron('0 6 * * *, @daily'), null);
  assert.match(cron('bad')!, /Schedule must be of the form/);
  assert.match(cron('61 * * * *')!, /Error parsing schedule/);
  assert.equal(isExpiry('1d 2H'), null);
  assert.equal(isExpiry('1d 2d'), 'Invalid expiry expression');
  assert.equal(isExpiry('5x'), 'Invalid expiry expression');
});

test('combinators: optional, required, lists, one-of', () => {
  assert.equal(optional(isBool)(''), null);
  assert.equal(required(isBool)(''), 'Required value');
  assert.equal(isListOf(isUint32Range)('1-5, 7'), null);
  assert.equal(isListOf(isUint32Range)('1-5,x'), 'Item "x": Invalid number "x"');
  assert.equal(isOneOf('block', 'allow')('x'), 'Invalid value "x" (not one of [block allow])');
});
