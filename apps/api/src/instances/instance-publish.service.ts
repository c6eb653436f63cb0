// `lxc publish`: POST /1.0/images with an instance source. The images side stages a file and imports it afterwards
// (fingerprint = sha256 of the tarball, aliases, properties); this publisher fills that file: the agent packs the
// stopped instance's volume into a unified tarball with a fresh metadata.yaml. As LXD, a running instance is refused
// (the client stops it first with --force), the request's properties replace those of metadata.yaml only when there
// are some, and publishes run one at a time.
import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { AgentImageCompression, ImagesPost } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';
import type { PublishContext } from '../images/images-post.service.js';
import { ImagesPostService } from '../images/images-post.service.js';
import { ProjectsService } from '../projects/projects.service.js';
import { ServerConfigService } from '../server/server-config.service.js';
import { lxcNameOf, rootDisk } from './instance-expansion.js';
import { InstancesService } from './instances.service.js';

const COMPRESSIONS: readonly AgentImageCompression[] = ['none', 'gzip', 'bzip2', 'xz', 'lzma', 'zstd'];
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** LXD's choice: the request's algorithm, else the project's images.compression_algorithm, else the server's, else gzip. */
export function publishCompression(requested: string, projectValue: string | undefined, serverValue: string | undefined): AgentImageCompression {
  const algo = requested || projectValue || serverValue || 'gzip';
  const found = COMPRESSIONS.find((c) => c === algo);
  if (!found) throw badRequest(`Unsupported compression algorithm "${algo}" for publishing (supported: ${COMPRESSIONS.join(', ')})`);
  return found;
}

/** metadata.yaml's expiry_date (unix seconds, 0 = none) from the request's expires_at. */
export function expirySeconds(expiresAt: string): number {
  if (!expiresAt || expiresAt === ZERO_TIME) return 0;
  const ms = Date.parse(expiresAt);
  return Number.isNaN(ms) || ms <= 0 ? 0 : Math.floor(ms / 1000);
}

/** The source checks of LXD's imgPostInstanceInfo; returns the instance name. */
export function publishSourceName(request: ImagesPost): string {
  const source = request.source;
  const name = source?.name ?? '';
  if (!source || !source.type || !name) throw badRequest('No source provided');
  if (source.type === 'snapshot') {
    if (!name.includes('/')) throw badRequest('Not a snapshot');
    throw badRequest('Publishing snapshots is not supported yet');
  }
  if (name.includes('/')) throw badRequest('This is a snapshot');
  return name;
}

@Injectable()
export class InstancePublishService implements OnModuleInit {
  /** LXD serializes publishes (imagePublishLock): packing is I/O and CPU heavy. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly instances: InstancesService,
    private readonly posts: ImagesPostService,
    private readonly projects: ProjectsService,
    private readonly serverConfig: ServerConfigService,
  ) {}

  onModuleInit(): void {
    this.posts.setPublisher((ctx) => this.serialized(() => this.publish(ctx)));
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Writes the unified image tarball of a stopped instance to `ctx.tarballPath`. */
  async publish(ctx: PublishContext): Promise<void> {
    const name = publishSourceName(ctx.request);
    const row = await this.instances.find(ctx.project, name);
    const lxcName = lxcNameOf(row.project, row.name);
    if ((await this.instances.statusOf(lxcName)).status !== 'Stopped') throw badRequest('Cannot export a running instance as an image');
    const { devices } = await this.instances.expanded(row);
    const poolRef = await this.instances.repo.pool(rootDisk(devices)?.pool ?? '');
    if (!poolRef) throw badRequest(`The storage pool of instance "${name}" has no source`);
    const project = await this.projects.row(row.project);
    const compression = publishCompression(
      ctx.request.compression_algorithm,
      project.config['images.compression_algorithm'],
      await this.serverConfig.get('images.compression_algorithm'),
    );
    const properties = ctx.request.properties ?? {};
    await this.instances.agent.exportImage({
      volume: { ...poolRef, type: 'containers', name: lxcName },
      targetFile: ctx.tarballPath,
      compression,
      architecture: row.architecture,
      creationDate: Math.floor(Date.now() / 1000),
      expiryDate: expirySeconds(ctx.request.expires_at),
      properties: Object.keys(properties).length > 0 ? properties : null,
    });
  }
}
