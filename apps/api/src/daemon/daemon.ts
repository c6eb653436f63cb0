// Starts one lxdts daemon: store, Nest app on the unix socket, HTTPS when configured, events websocket.
import { NetworksService } from '../networks/networks.service.js';
import { StoragePoolsService } from '../storage-pools/storage-pools.service.js';
import 'reflect-metadata';
import { appendFileSync, chmodSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SqliteStore } from '@lxdts/raft-store';
import { startAgent } from '../agent/agent.process.js';
import { CertificatesService } from '../certificates/certificates.service.js';
import { ClusterHeartbeat } from '../cluster/cluster-heartbeat.js';
import { EventRelay } from '../cluster/event-relay.js';
import { ClusterRepository } from '../cluster/cluster.repository.js';
import { RequestForwarder } from '../cluster/request-forwarder.js';
import { InstancesRepository } from '../instances/instances.repository.js';
import { CLUSTER_ADDRESS_KEY, ClusterRuntime } from '../cluster/cluster-runtime.js';
import { ClusterService } from '../cluster/cluster.service.js';
import { handleDatabaseUpgrade } from '../cluster/database-tunnel.js';
import { nodeSocketPath } from '../cluster/cluster-database.js';
import { InstancePowerService } from '../instances/instance-power.service.js';
import { EventsService } from '../events/events.service.js';
import { EventsSocket, refuse } from '../events/events.socket.js';
import { OperationWebsocketHub } from '../exec/operation-websocket.hub.js';
import { WarningsService } from '../warnings/warnings.service.js';
import { raiseHostWarnings } from './host-warnings.js';
import { LxdErrorFilter } from '../http/error-filter.js';
import { DEFAULT_BODY_LIMIT, registerRoutes } from '../http/router.js';
import { OperationsService } from '../operations/operations.service.js';
import { ROUTE_PROVIDERS } from '../routes.js';
import { ServerConfigService } from '../server/server-config.service.js';
import { loadOrCreateServerCertificate } from '../tls/server-certificate.js';
import { AppModule } from './app.module.js';
import type { DaemonOptions } from './daemon-options.js';
import { DaemonStore } from './daemon-store.js';
import { InternalRoutes } from './internal.routes.js';
import { Listeners, removeStaleSocket } from './listeners.js';
import { type Logger, createLogger } from './logger.js';
import type { DaemonPaths } from './paths.js';

export interface RunningDaemon {
  /** Resolves when the daemon has stopped (shutdown request or signal). */
  stopped: Promise<void>;
  /** Stops the daemon; with `instances` true, running instances are shut down first. */
  stop(instances?: boolean): Promise<void>;
}

export async function startDaemon(paths: DaemonPaths, options: DaemonOptions): Promise<RunningDaemon> {
  mkdirSync(paths.varDir, { recursive: true, mode: 0o711 });
  // As LXD: unprivileged containers (host uids 1000000+) traverse $LXD_DIR to reach their rootfs.
  chmodSync(paths.varDir, 0o711);
  const log = createLogger(options);
  const keyPair = loadOrCreateServerCertificate(paths.serverCert, paths.serverKey);
  const store = new DaemonStore(await SqliteStore.open(paths.database));
  const listeners = new Listeners(keyPair);
  const cluster = new ClusterRuntime(paths, store, (level, msg) => log[level](msg));
  // Clustered: the HTTPS listener presents the cluster certificate (and the server one again after leaving).
  cluster.onClustered = (tls) => listeners.setKeyPair({ cert: tls.cert, key: tls.key });
  cluster.onLeft = () => listeners.setKeyPair(keyPair);
  // A clustered member opens the replicated database before anything reads it; its peers reach its node through
  // its HTTPS meanwhile (raft needs both directions), so that listener and the database upgrade come first.
  const databaseUpgrade = { tls: () => cluster.tls, localNode: () => (cluster.tls ? nodeSocketPath(paths.varDir) : null) };
  listeners.setUpgradeHandler((req, socket, head) => {
    if (!handleDatabaseUpgrade(req, socket, head, databaseUpgrade)) refuse(socket, 503, 'Service Unavailable');
  });
  if (await cluster.willOpen()) {
    const address = (await cluster.localConfig('core.https_address')) || (await cluster.localConfig(CLUSTER_ADDRESS_KEY));
    await listeners.applyHttpsAddress(address).catch((err: Error) => log.error(`Cannot listen on ${address}: ${err.message}`));
  }
  if (await cluster.willOpen()) log.info('Opening the cluster database');
  await cluster.open();
  if (cluster.member.clustered) log.info(`Cluster database open: member ${cluster.member.name} (node ${cluster.member.nodeId})`);
  const agent = await startAgent(
    { varDir: paths.varDir },
    {
      debug: options.debug,
      verbose: options.verbose,
      onLog: (line) => (options.logfile ? appendFileSync(options.logfile, `${line}\n`) : process.stderr.write(`${line}\n`)),
    },
  );

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ store, paths, options, agent: agent.client, cluster }),
    new FastifyAdapter({
      serverFactory: listeners.serverFactory,
      bodyLimit: DEFAULT_BODY_LIMIT,
      // No ignoreTrailingSlash: LXD's mux (StrictSlash off) answers 404 for `/1.0/images/` and the like.
      exposeHeadRoutes: false,
      return503OnClosing: false,
    } as ConstructorParameters<typeof FastifyAdapter>[0]),
    { logger: options.debug ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn'], abortOnError: false, bodyParser: false },
  );
  const fastify = app.getHttpAdapter().getInstance();

  log.info('API modules created');
  const certificates = app.get(CertificatesService);
  await certificates.refresh();
  const events = app.get(EventsService);
  const internal = new InternalRoutes(store);
  const table = [...ROUTE_PROVIDERS.map((p) => app.get(p, { strict: false })), internal].flatMap((p) => p.routes());
  app.useGlobalFilters(new LxdErrorFilter());
  await app.init();
  const clusterService = app.get(ClusterService, { strict: false });
  let memberNames: readonly string[] = ['none', hostname()];
  const refreshNames = async () => {
    memberNames = cluster.member.clustered ? await clusterService.memberNames() : ['none', hostname()];
    // Clustered, certificates may be trusted or revoked through any member: reload this member's trust cache.
    if (cluster.member.clustered) await certificates.refresh();
  };
  await refreshNames();
  setInterval(() => void refreshNames().catch(() => undefined), 2_000).unref();
  const memberTrust = { fingerprint: '', name: 'cluster', restricted: false, projects: [] as string[] };
  // Other members present the cluster certificate: trusted like an unrestricted client (API and events).
  const trust = { lookup: (fp: string) => (cluster.tls && fp === cluster.tls.fingerprint ? { ...memberTrust, fingerprint: fp } : certificates.lookup(fp)) };
  const operationsService = app.get(OperationsService);
  const instancesRepo = app.get(InstancesRepository, { strict: false });
  const clusterRepo = app.get(ClusterRepository, { strict: false });
  const forwarder = new RequestForwarder({
    runtime: cluster,
    instanceHolder: (project, name) => instancesRepo.holder(project, name),
    members: () => clusterRepo.members(),
    hasOperation: (id) => operationsService.has(id),
  });
  registerRoutes(fastify, table, {
    trust,
    forward: async (ctx, req, reply) => {
      const to = await forwarder.destination(ctx, req.headers);
      if (!to) return false;
      await forwarder.forward(to, ctx, req, reply);
      return true;
    },
    memberNames: () => memberNames,
    onServerError: (err, req) => log.error(`${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`),
  });
  if (options.debug) {
    fastify.addHook('onResponse', async (req, reply) => {
      log.debug(`${req.method} ${req.url} ${reply.statusCode}`);
      events.log('debug', 'Handling API request', { method: req.method, url: req.url });
    });
  }

  const eventsSocket = new EventsSocket(events, trust);
  const operationSockets = app.get(OperationWebsocketHub, { strict: false });
  listeners.setUpgradeHandler((req, socket, head) => {
    if (handleDatabaseUpgrade(req, socket, head, databaseUpgrade)) return;
    if (eventsSocket.handleUpgrade(req, socket, head)) return;
    // An operation of another member (exec/console websockets through this member) goes there; ours are served here.
    const local = () => operationSockets.handleUpgrade(req, socket, head) || refuse(socket, 404, 'Not Found');
    void forwarder.forwardUpgrade(req, socket, head).then(
      (passed) => passed || local(),
      () => local(),
    );
  });

  const config = app.get(ServerConfigService);
  config.onChange('core.https_address', async (_key, value) => {
    await listeners.applyHttpsAddress(value);
    certificates.setAddresses(value ? [value] : []);
  });

  removeStaleSocket(paths.socket);
  listeners.markReady();
  await app.listen({ path: paths.socket });
  listeners.secureSocket(paths.socket, options.group);
  const httpsAddress = await config.get('core.https_address');
  if (httpsAddress) {
    await listeners.applyHttpsAddress(httpsAddress).catch((err: Error) => {
      log.error(`Cannot listen on ${httpsAddress}: ${err.message}`);
    });
  }
  certificates.setAddresses(listeners.currentHttpsAddress ? [listeners.currentHttpsAddress] : []);
  log.info('Listening; restoring instances');
  await raiseHostWarnings(app.get(WarningsService, { strict: false }));
  if (cluster.member.clustered) {
    app.get(EventsService).location = cluster.member.name;
    app.get(OperationsService).location = cluster.member.name;
  }
  const heartbeat = app.get(ClusterHeartbeat, { strict: false });
  heartbeat.start();
  const eventRelay = app.get(EventRelay, { strict: false });
  eventRelay.start();
  // btrfs pools' file systems are mounted before the instances on them start (after a reboot they are not).
  await app.get(StoragePoolsService, { strict: false }).mountAll();
  // Managed bridges (bridge, dnsmasq, NAT) before the instances plugged into them start.
  await app.get(NetworksService, { strict: false }).ensureAll();
  const power = app.get(InstancePowerService, { strict: false });
  await power.restore((msg) => log.warn(msg));
  internal.ready = true;
  log.info(`lxdts daemon ready on ${paths.socket}${httpsAddress ? ` and https://${httpsAddress}` : ''}`);

  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  /** `instances`: stop running instances first (lxdts shutdown, SIGPWR), as `lxd shutdown`; else leave them running. */
  const stop = (instances = false): Promise<void> =>
    (stopping ??= (async () => {
      log.info('lxdts daemon shutting down');
      if (instances) {
        const timeoutSec = Number((await app.get(ServerConfigService).get('core.shutdown_timeout')) || '5') * 60;
        await power.shutdownAll(timeoutSec).catch((err: Error) => log.error(`Stopping instances: ${err.message}`));
      }
      heartbeat.stop();
      eventRelay.stop();
      app.get(OperationsService).shutdown();
      eventsSocket.close();
      await listeners.close();
      listeners.unix.closeAllConnections();
      await app.close();
      await agent.stop();
      // A leader hands leadership over before its node stops: no write gap for the others.
      await cluster.stop(true);
      store.useGlobal(store.localStore);
      await store.close();
      removeStaleSocket(paths.socket);
      resolveStopped();
    })());
  internal.onShutdown = () => void stop(true);
  return { stopped, stop };
}

export type { Logger };
