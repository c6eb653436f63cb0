// Network ACLs (`lxc network acl ...`, extension network_acl): rules checked as LXD checks them, kept per project,
// applied by the agent on the managed bridges whose `security.acls` names them (bridge semantics: where the bridge
// meets the host). A change to an ACL is applied at once to every network that uses it.
import { Injectable } from '@nestjs/common';
import type { NetworkACL, NetworkACLPut, NetworkACLsPost } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, notFound } from '../http/api-error.js';
import { apiUrl } from '../projects/api-url.js';
import { ACL_NAME, checkedAcl as checked, aclSubjects as list } from './network-acl-rules.js';
import { type AclRow, NetworkAclsRepository } from './network-acls.repository.js';
import { NetworksRepository } from './networks.repository.js';
import { NetworksService } from './networks.service.js';

@Injectable()
export class NetworkAclsService {
  constructor(
    private readonly repo: NetworkAclsRepository,
    private readonly networksRepo: NetworksRepository,
    private readonly networks: NetworksService,
    private readonly events: EventsService,
  ) {}

  url(project: string, name: string): string {
    return apiUrl(['network-acls', name], project);
  }

  async list(project: string): Promise<NetworkACL[]> {
    const { projectId, effective } = await this.projectOf(project);
    return Promise.all((await this.repo.list(projectId)).map((a) => this.toApi(a, effective)));
  }

  async get(project: string, name: string): Promise<NetworkACL> {
    const { effective } = await this.projectOf(project);
    return this.toApi(await this.load(project, name), effective);
  }

  async create(project: string, post: NetworkACLsPost, identity: Identity): Promise<string> {
    if (!ACL_NAME.test(post.name)) throw badRequest(`Invalid ACL name "${post.name}": letters, digits and dashes, starting with a letter, at most 63`);
    const { projectId, effective } = await this.projectOf(project);
    const acl = checked(post);
    if ((await this.repo.list(projectId, post.name)).length) throw conflict(`An ACL by that name exists already`);
    await this.repo.create(projectId, { name: post.name, ...acl });
    const url = this.url(effective, post.name);
    this.events.lifecycle('network-acl-created', url, effective, identity);
    return url;
  }

  /** PUT replaces, PATCH merges (a rule list given replaces that list); the networks using it get the change at once. */
  async update(project: string, name: string, put: NetworkACLPut, present: ReadonlySet<string> | null, identity: Identity): Promise<void> {
    const current = await this.load(project, name);
    const has = (k: string) => present === null || present.has(k);
    const next = checked({
      description: has('description') ? put.description : current.description,
      ingress: has('ingress') ? put.ingress : current.ingress,
      egress: has('egress') ? put.egress : current.egress,
      config: has('config') ? (present === null ? put.config : { ...current.config, ...put.config }) : current.config,
    });
    await this.repo.update(current.id, next);
    await this.networks.reapplyAcl(name);
    const { effective } = await this.projectOf(project);
    this.events.lifecycle('network-acl-updated', this.url(effective, name), effective, identity);
  }

  async rename(project: string, name: string, newName: string, identity: Identity): Promise<void> {
    if (!ACL_NAME.test(newName)) throw badRequest(`Invalid ACL name "${newName}"`);
    const current = await this.load(project, name);
    const { projectId, effective } = await this.projectOf(project);
    if ((await this.usedBy(name)).length) throw badRequest('Cannot rename an ACL that is in use');
    if ((await this.repo.list(projectId, newName)).length) throw conflict(`An ACL by that name exists already`);
    await this.repo.rename(current.id, newName);
    this.events.lifecycle('network-acl-renamed', this.url(effective, newName), effective, identity, { old_name: name });
  }

  async delete(project: string, name: string, identity: Identity): Promise<void> {
    const current = await this.load(project, name);
    if ((await this.usedBy(name)).length) throw badRequest('Cannot delete an ACL that is in use');
    await this.repo.delete(current.id);
    const { effective } = await this.projectOf(project);
    this.events.lifecycle('network-acl-deleted', this.url(effective, name), effective, identity);
  }

  private async load(project: string, name: string): Promise<AclRow> {
    const { projectId } = await this.projectOf(project);
    const [acl] = await this.repo.list(projectId, name);
    if (!acl) throw notFound('Network ACL not found');
    return acl;
  }

  /** ACLs live with the networks: in the project itself with `features.networks`, else in default. */
  private async projectOf(project: string): Promise<{ projectId: number; effective: string }> {
    const effective = await this.networksRepo.networksProject(project);
    if (effective === undefined) throw notFound('Project not found');
    return { projectId: (await this.networksRepo.projectId(effective)) as number, effective };
  }

  private async usedBy(name: string): Promise<string[]> {
    return (await this.networksRepo.allManaged())
      .filter((n) => list(n.config['security.acls'] ?? '').includes(name))
      .map((n) => apiUrl(['networks', n.name], n.project));
  }

  private async toApi(a: AclRow, _project: string): Promise<NetworkACL> {
    return { name: a.name, description: a.description, ingress: a.ingress, egress: a.egress, config: a.config, used_by: await this.usedBy(a.name) };
  }
}
