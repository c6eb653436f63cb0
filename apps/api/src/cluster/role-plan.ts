// Which database role each member should have, as LXD balances them: an odd number of voters up to
// cluster.max_voters (one voter with two members: two voters are no more available than one and need both), then
// stand-bys up to cluster.max_standby, spares for the rest. Pure: the leader applies one change per heartbeat round,
// so each step is a single raft configuration change that the cluster can commit with the members it has.

/** dqlite's wire roles. */
export const enum RaftRole {
  Voter = 0,
  Standby = 1,
  Spare = 2,
}

export interface PlanMember {
  id: number;
  role: RaftRole;
  online: boolean;
}

export interface RoleChange {
  id: number;
  role: RaftRole;
}

export interface RoleLimits {
  maxVoters: number;
  maxStandby: number;
}

/** The voter count the cluster aims for with `members` members: odd, at most `maxVoters`. */
export function targetVoters(members: number, maxVoters: number): number {
  const t = Math.max(1, Math.min(maxVoters, members));
  return t % 2 === 0 ? t - 1 : t;
}

/** The next role change, or null when the roles are balanced. `leaderId` is never demoted. */
export function nextRoleChange(members: readonly PlanMember[], limits: RoleLimits, leaderId = 0): RoleChange | null {
  const sorted = [...members].sort((a, b) => a.id - b.id);
  const voters = sorted.filter((m) => m.role === RaftRole.Voter);
  const standbys = sorted.filter((m) => m.role === RaftRole.Standby);
  const onlineVoters = voters.filter((m) => m.online);
  const target = targetVoters(sorted.length, limits.maxVoters);

  // 1. Too few working voters: promote an online stand-by first (it has the data), else a spare.
  if (onlineVoters.length < target) {
    const candidate = standbys.find((m) => m.online) ?? sorted.find((m) => m.role === RaftRole.Spare && m.online);
    if (candidate) return { id: candidate.id, role: RaftRole.Voter };
  }
  // 2. Too many voters: an offline one goes first (to spare); else the newest online one becomes a stand-by.
  if (voters.length > target) {
    const offline = voters.find((m) => !m.online && m.id !== leaderId);
    if (offline) return { id: offline.id, role: RaftRole.Spare };
    if (onlineVoters.length > target) {
      const newest = [...onlineVoters].reverse().find((m) => m.id !== leaderId);
      if (newest) return { id: newest.id, role: RaftRole.Standby };
    }
  }
  // 3. Stand-bys: offline ones become spares; missing ones come from online spares; extra ones become spares.
  const offlineStandby = standbys.find((m) => !m.online);
  if (offlineStandby) return { id: offlineStandby.id, role: RaftRole.Spare };
  if (standbys.length < limits.maxStandby) {
    const spare = sorted.find((m) => m.role === RaftRole.Spare && m.online);
    if (spare) return { id: spare.id, role: RaftRole.Standby };
  }
  if (standbys.length > limits.maxStandby) {
    const last = standbys[standbys.length - 1]!;
    return { id: last.id, role: RaftRole.Spare };
  }
  return null;
}

/** LXD's role names for `lxc cluster list`. */
export function roleNames(role: RaftRole | undefined, isLeader: boolean): string[] {
  if (role === RaftRole.Voter) return isLeader ? ['database-leader', 'database'] : ['database'];
  if (role === RaftRole.Standby) return ['database-standby'];
  return [];
}
