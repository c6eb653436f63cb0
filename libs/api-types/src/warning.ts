// /1.0/warnings (rest-api.yaml definitions Warning, WarningPut; extension warnings).

export type WarningStatus = 'new' | 'acknowledged' | 'resolved';
export type WarningSeverity = 'low' | 'moderate' | 'high';

export interface WarningPut {
  status: WarningStatus;
}

export interface Warning extends WarningPut {
  uuid: string;
  /** Cluster member name ("none" when standalone); "" for cluster-wide warnings. */
  location: string;
  /** "" for warnings that belong to no project. */
  project: string;
  type: string;
  count: number;
  first_seen_at: string;
  last_seen_at: string;
  last_message: string;
  severity: WarningSeverity;
  /** e.g. /1.0/instances/c1?project=default; "" when the warning concerns no entity. */
  entity_url: string;
}
