import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scheduleDue } from './snapshot-schedule.js';

test('snapshots.schedule: cron fields, lists, ranges, steps, names, aliases, day-of-month OR day-of-week', () => {
  const at = new Date(2026, 11, 3, 14, 30); // Thursday 3 December 2026, 14:30 local time
  assert.equal(scheduleDue('* * * * *', at), true);
  assert.equal(scheduleDue('30 14 * * *', at), true);
  assert.equal(scheduleDue('31 14 * * *', at), false);
  assert.equal(scheduleDue('*/15 * * * *', at), true);
  assert.equal(scheduleDue('*/7 * * * *', at), false);
  assert.equal(scheduleDue('0-29 * * * *', at), false);
  assert.equal(scheduleDue('10,30,50 14 * dec thu', at), true);
  assert.equal(scheduleDue('30 14 * * mon-wed', at), false);
  assert.equal(scheduleDue('30 14 1 * 4', at), true, 'day of week matches although day of month does not');
  assert.equal(scheduleDue('30 14 3 * 1', at), true, 'day of month matches although day of week does not');
  assert.equal(scheduleDue('30 14 1 * 1', at), false);
  assert.equal(scheduleDue('@hourly', at), false);
  assert.equal(scheduleDue('@hourly', new Date(2026, 11, 3, 14, 0)), true);
  assert.equal(scheduleDue('@daily, 30 14 * * *', at), true);
  assert.equal(scheduleDue('@never', at), false);
  assert.equal(scheduleDue('@startup', at), false);
  assert.equal(scheduleDue('not a schedule', at), false);
});
