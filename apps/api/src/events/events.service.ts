// The in-process event hub behind /1.0/events: operation, logging and lifecycle events fan out to subscribers.
import { Injectable } from '@nestjs/common';
import type { Event, EventLifecycle, EventType } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';

export interface EventSubscriber {
  types: ReadonlySet<EventType>;
  /** Empty = all projects. */
  project: string | null;
  send(frame: string): void;
}

@Injectable()
export class EventsService {
  private readonly subscribers = new Set<EventSubscriber>();
  /** Cluster member name events are stamped with ("none" when standalone, as LXD). */
  location = 'none';

  subscribe(sub: EventSubscriber): () => void {
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  emit(type: EventType, project: string, metadata: unknown): void {
    if (this.subscribers.size === 0) return;
    this.deliver({ type, timestamp: new Date().toISOString(), metadata, location: this.location, project });
  }

  /** An event of another cluster member, passed on as it is (its location says where it happened). */
  relay(event: Event): void {
    if (this.subscribers.size > 0) this.deliver(event);
  }

  private deliver(event: Event): void {
    const frame = JSON.stringify(event);
    for (const sub of this.subscribers) {
      if (!sub.types.has(event.type)) continue;
      if (sub.project !== null && event.project !== '' && sub.project !== event.project) continue;
      sub.send(frame);
    }
  }

  /** Lifecycle event, e.g. `lifecycle('profile-created', '/1.0/profiles/p1', 'default', identity)`. */
  lifecycle(
    action: string,
    source: string,
    project: string,
    identity?: Identity,
    context: Record<string, unknown> | null = null,
  ): void {
    // context and requestor are omitted when empty, as LXD's omitempty fields.
    const meta: Partial<EventLifecycle> = { action, source };
    if (context && Object.keys(context).length > 0) meta.context = context;
    if (identity) meta.requestor = { username: identity.username, protocol: identity.transport, address: identity.address };
    this.emit('lifecycle', project, meta);
  }

  log(level: 'debug' | 'info' | 'warning' | 'error', message: string, context: Record<string, string> = {}): void {
    this.emit('logging', '', { message, level, context });
  }
}
