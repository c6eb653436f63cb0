// Background operations (rest-api.yaml definitions/Operation).

export type OperationClass = 'task' | 'websocket' | 'token';

export interface Operation {
  id: string;
  class: OperationClass;
  description: string;
  created_at: string;
  updated_at: string;
  status: string;
  status_code: number;
  /** Affected resources, by type: { "instances": ["/1.0/instances/c1"] } */
  resources: Record<string, string[]> | null;
  metadata: Record<string, unknown> | null;
  may_cancel: boolean;
  err: string;
  location: string;
}

/** GET /1.0/operations?recursion=1 groups by status. */
export type OperationsByStatus<T> = Record<string, T[]>;
