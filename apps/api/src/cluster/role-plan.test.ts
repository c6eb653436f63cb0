import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PlanMember, RaftRole, nextRoleChange, roleNames, targetVoters } from './role-plan.js';

const limits = { maxVoters: 3, maxStandby: 2 };
const m = (id: number, role: RaftRole, online = true): PlanMember => ({ id, role, online });

/** Applies changes until balanced (at most 20 steps) and returns the final roles by id. */
function settle(members: PlanMember[], leaderId = 1): Record<number, RaftRole> {
  const state = members.map((x) => ({ ...x }));
  for (let i = 0; i < 20; i++) {
    const c = nextRoleChange(state, limits, leaderId);
    if (!c) break;
    state.find((x) => x.id === c.id)!.role = c.role;
  }
  return Object.fromEntries(state.map((x) => [x.id, x.role]));
}

test('odd voter counts as LXD: 1, 1, 3, 3, 3', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 9].map((n) => targetVoters(n, 3)), [1, 1, 3, 3, 3, 3]);
  assert.equal(targetVoters(9, 5), 5);
});

test('joins: the second member is a stand-by, three are voters, then stand-bys, then spares', () => {
  assert.deepEqual(settle([m(1, RaftRole.Voter), m(2, RaftRole.Spare)]), { 1: RaftRole.Voter, 2: RaftRole.Standby });
  assert.deepEqual(settle([m(1, RaftRole.Voter), m(2, RaftRole.Standby), m(3, RaftRole.Spare)]), { 1: 0, 2: 0, 3: 0 });
  assert.deepEqual(settle([1, 2, 3].map((i) => m(i, RaftRole.Voter)).concat([m(4, 2), m(5, 2), m(6, 2)])), { 1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 2 });
});

test('a dead voter is replaced by a stand-by and then demoted; a dead stand-by becomes a spare', () => {
  const five = [m(1, RaftRole.Voter), m(2, RaftRole.Voter, false), m(3, RaftRole.Voter), m(4, RaftRole.Standby), m(5, RaftRole.Standby)];
  assert.deepEqual(nextRoleChange(five, limits, 1), { id: 4, role: RaftRole.Voter });
  assert.deepEqual(settle(five), { 1: 0, 2: 2, 3: 0, 4: 0, 5: 1 });
  assert.deepEqual(settle([m(1, 0), m(2, 0), m(3, 0), m(4, 1, false)]), { 1: 0, 2: 0, 3: 0, 4: 2 });
});

test('three voters with one dead and no spare left: nothing to do (the two keep quorum)', () => {
  assert.equal(nextRoleChange([m(1, 0), m(2, 0, false), m(3, 0)], limits, 1), null);
});

test('after a removal the roles rebalance: four left with two voters get a third', () => {
  assert.deepEqual(settle([m(1, 0), m(3, 0), m(4, 1), m(5, 1)]), { 1: 0, 3: 0, 4: 0, 5: 1 });
});

test('role names', () => {
  assert.deepEqual(roleNames(RaftRole.Voter, true), ['database-leader', 'database']);
  assert.deepEqual(roleNames(RaftRole.Standby, false), ['database-standby']);
  assert.deepEqual(roleNames(RaftRole.Spare, false), []);
});
