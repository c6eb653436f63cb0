// /1.0/events frames (events.md).

export type EventType = 'operation' | 'logging' | 'lifecycle';
export const EventTypes: readonly EventType[] = ['operation', 'logging', 'lifecycle'];

export interface Event<T = unknown> {
  type: EventType;
  timestamp: string;
  metadata: T;
  location: string;
  project: string;
}

export interface EventLifecycle {
  action: string;
  source: string;
  context: Record<string, unknown> | null;
  requestor: EventLifecycleRequestor | null;
}

export interface EventLifecycleRequestor {
  username: string;
  protocol: string;
  address: string;
}

export interface EventLogging {
  message: string;
  level: string;
  context: Record<string, string>;
}
