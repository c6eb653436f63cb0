// WebSocket upgrades: /1.0/events streams the event hub; other paths are refused.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type EventType, EventTypes } from '@lxdts/api-types';
import { type TaggedRequest, type TrustStore, authenticate } from '../auth/authenticator.js';
import { canAccessProject } from '../auth/identity.js';
import type { EventsService } from './events.service.js';

const KEEPALIVE_MS = 30_000;

export class EventsSocket {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly events: EventsService,
    private readonly trust: TrustStore,
  ) {}

  /** Returns false when the request is not for the events stream. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://lxd');
    if (url.pathname.replace(/\/$/, '') !== '/1.0/events') return false;
    const identity = authenticate(req as TaggedRequest, this.trust);
    const allProjects = url.searchParams.get('all-projects') === 'true';
    const project = allProjects ? null : url.searchParams.get('project') || 'default';
    if (!identity.trusted || (project !== null && !canAccessProject(identity, project))) {
      refuse(socket, 403, 'Forbidden');
      return true;
    }
    const requested = (url.searchParams.get('type') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const unknown = requested.filter((t) => !EventTypes.includes(t as EventType));
    if (unknown.length) {
      refuse(socket, 400, 'Bad Request');
      return true;
    }
    const types = new Set<EventType>(requested.length ? (requested as EventType[]) : EventTypes);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      const unsubscribe = this.events.subscribe({
        types,
        project: identity.restricted && project === null ? (identity.projects[0] ?? 'default') : project,
        send: (frame) => {
          if (ws.readyState === ws.OPEN) ws.send(frame);
        },
      });
      const ping = setInterval(() => ws.ping('keepalive'), KEEPALIVE_MS);
      ping.unref();
      ws.on('close', () => {
        clearInterval(ping);
        unsubscribe();
        this.sockets.delete(ws);
      });
      ws.on('error', () => ws.terminate());
      // Clients never send on this socket; ignore whatever arrives.
      ws.on('message', () => undefined);
    });
    return true;
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.wss.close();
  }
}

export function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`,
  );
}
