// Events of the whole cluster on every member (LXD's full-mesh event mode): each member listens to every other
// member's /1.0/events (all projects, all types) over HTTPS with the cluster certificate and passes on the events
// that happened there (their `location` is that member), so `lxc monitor` on any member shows them all. Events a
// member relays itself are not relayed again (their location is not the sender's).
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import WebSocket from 'ws';
import type { Event } from '@lxdts/api-types';
import { CLUSTER_RUNTIME } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ClusterRepository } from './cluster.repository.js';

const RECONCILE_MS = 1_000;

interface Peer {
  name: string;
  address: string;
  socket: WebSocket;
}

@Injectable()
export class EventRelay implements OnApplicationShutdown {
  private readonly peers = new Map<number, Peer>();
  private timer: NodeJS.Timeout | undefined;
  private reconciling = false;

  constructor(
    @Inject(CLUSTER_RUNTIME) private readonly runtime: ClusterRuntime,
    private readonly repo: ClusterRepository,
    private readonly events: EventsService,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const p of this.peers.values()) p.socket.terminate();
    this.peers.clear();
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  /** One connection per other member; gone members and changed addresses are dropped, dead connections redone. */
  async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      const tls = this.runtime.tls;
      if (!this.runtime.member.clustered || !tls) {
        for (const p of this.peers.values()) p.socket.terminate();
        this.peers.clear();
        return;
      }
      const self = this.runtime.member.nodeId;
      const members = (await this.repo.members()).filter((m) => m.id !== self);
      const wanted = new Map(members.map((m) => [m.id, m]));
      for (const [id, p] of this.peers) {
        const m = wanted.get(id);
        const dead = p.socket.readyState === WebSocket.CLOSED || p.socket.readyState === WebSocket.CLOSING;
        if (!m || m.address !== p.address || dead) {
          p.socket.terminate();
          this.peers.delete(id);
        } else if (m.name !== p.name) p.name = m.name;
      }
      for (const m of members) {
        if (this.peers.has(m.id)) continue;
        const socket = new WebSocket(`wss://${m.address}/1.0/events?all-projects=true&type=operation,logging,lifecycle`, [], {
          cert: tls.cert,
          key: tls.key,
          ca: [tls.cert],
          rejectUnauthorized: true,
          // Node wants undefined for "no name check" (the pinned certificate is the identity); ws types it boolean.
          checkServerIdentity: (() => undefined) as unknown as () => boolean,
          handshakeTimeout: 2_000,
        });
        const peer: Peer = { name: m.name, address: m.address, socket };
        socket.on('message', (data) => this.onMessage(peer, data));
        socket.on('error', () => socket.terminate());
        this.peers.set(m.id, peer);
      }
    } catch {
      // The database may be briefly unavailable (election): the next round tries again.
    } finally {
      this.reconciling = false;
    }
  }

  private onMessage(peer: Peer, data: WebSocket.RawData): void {
    let event: Event;
    try {
      event = JSON.parse(data.toString()) as Event;
    } catch {
      return;
    }
    if (event && typeof event === 'object' && event.location === peer.name) this.events.relay(event);
  }
}
