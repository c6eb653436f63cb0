import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AgentError } from '../errors.js';
import {
  formatCpuList,
  isFalse,
  isTrue,
  parseByteSize,
  parseCpuAllowance,
  parseCpuLimit,
  parseMemoryLimit,
  parseProcessLimit,
  pickCpus,
} from './limits.js';

const rejects400 = (fn: () => unknown) =>
  assert.throws(fn, (e: unknown) => e instanceof AgentError && e.status === 400);

describe('parseByteSize (LXD units)', () => {
  test('decimal and binary suffixes', () => {
    assert.equal(parseByteSize('512'), 512);
    assert.equal(parseByteSize('10B'), 10);
    assert.equal(parseByteSize('1kB'), 1000);
    assert.equal(parseByteSize('64MB'), 64_000_000);
    assert.equal(parseByteSize('2GB'), 2e9);
    assert.equal(parseByteSize('1TB'), 1e12);
    assert.equal(parseByteSize('1KiB'), 1024);
    assert.equal(parseByteSize('64MiB'), 67108864);
    assert.equal(parseByteSize('1GiB'), 1073741824);
    assert.equal(parseByteSize('3bytes'), 3);
  });
  test('suffixes are case-sensitive, decimals and signs are refused', () => {
    for (const bad of ['1mb', '1MIB', '1.5GB', '-1MB', 'MB', '', '1 MB', '1KB']) rejects400(() => parseByteSize(bad));
  });
});

describe('parseMemoryLimit', () => {
  test('percentage of host memory, as LXD (total/100*pct)', () => {
    assert.equal(parseMemoryLimit('50%', 1000), 500);
    assert.equal(parseMemoryLimit('10%', 1099), 100);
    assert.equal(parseMemoryLimit('256MiB', 0), 268435456);
  });
  test('bad values', () => {
    rejects400(() => parseMemoryLimit('x%', 100));
    rejects400(() => parseMemoryLimit('12.5%', 100));
    rejects400(() => parseMemoryLimit('lots', 100));
  });
});

describe('limits.cpu', () => {
  test('a number is a count, anything with - or , a set', () => {
    assert.deepEqual(parseCpuLimit('2'), { kind: 'count', count: 2 });
    assert.deepEqual(parseCpuLimit('1-1'), { kind: 'set', cpus: [1] });
    assert.deepEqual(parseCpuLimit('0-2,5'), { kind: 'set', cpus: [0, 1, 2, 5] });
    assert.deepEqual(parseCpuLimit('3,1,1'), { kind: 'set', cpus: [1, 3] });
    for (const bad of ['0', '2-1', 'a', '1,,2', '-1']) rejects400(() => parseCpuLimit(bad));
  });
  test('a count takes the first online CPUs, capped at what exists; a set must be online', () => {
    assert.deepEqual(pickCpus({ kind: 'count', count: 1 }, [0, 1, 2, 3]), [0]);
    assert.deepEqual(pickCpus({ kind: 'count', count: 8 }, [0, 1]), [0, 1]);
    assert.deepEqual(pickCpus({ kind: 'set', cpus: [1] }, [0, 1]), [1]);
    rejects400(() => pickCpus({ kind: 'set', cpus: [4] }, [0, 1]));
  });
  test('formatCpuList compacts ranges', () => {
    assert.equal(formatCpuList([0, 1, 2, 5, 7, 8]), '0-2,5,7-8');
    assert.equal(formatCpuList([3]), '3');
  });
});

describe('parseCpuAllowance (LXD cgroup.ParseCPU)', () => {
  test('defaults: full shares, no quota', () => {
    assert.deepEqual(parseCpuAllowance(undefined, undefined), { shares: 1024, quotaUs: null, periodUs: null });
  });
  test('percentage is a soft share', () => {
    assert.deepEqual(parseCpuAllowance('50%', undefined), { shares: 512, quotaUs: null, periodUs: null });
    assert.deepEqual(parseCpuAllowance('50%', undefined, 100), { shares: 50, quotaUs: null, periodUs: null });
  });
  test('time slice is a hard CFS quota', () => {
    assert.deepEqual(parseCpuAllowance('25ms/100ms', undefined), { shares: 1024, quotaUs: 25000, periodUs: 100000 });
    assert.deepEqual(parseCpuAllowance('200ms/100ms', undefined), { shares: 1024, quotaUs: 200000, periodUs: 100000 });
  });
  test('priority lowers the share', () => {
    assert.equal(parseCpuAllowance(undefined, '5').shares, 1019);
    assert.equal(parseCpuAllowance('1%', '0').shares, 0);
  });
  test('bad values', () => {
    for (const bad of ['50', '25ms', '25/100', '25ms/0ms', '0ms/100ms', '10ms/2000ms', 'x%']) {
      rejects400(() => parseCpuAllowance(bad, undefined));
    }
    rejects400(() => parseCpuAllowance(undefined, '11'));
  });
});

test('parseProcessLimit and booleans', () => {
  assert.equal(parseProcessLimit('50'), 50);
  rejects400(() => parseProcessLimit('0'));
  rejects400(() => parseProcessLimit('many'));
  assert.ok(isTrue('true') && isTrue('1') && isTrue('yes') && isTrue('On'));
  assert.ok(isFalse('false') && isFalse('0') && !isFalse(undefined) && !isTrue(''));
});
