// Network ACL rules as LXD checks them, and what the agent applies for a network's `security.acls`.
import type { AgentAclRule, AgentBridgeAcls, NetworkACLPut, NetworkACLRule } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';
import { ipToInt } from './bridge-config.js';
import type { AclRow } from './network-acls.repository.js';

export const ACL_NAME = /^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const ACTIONS = ['allow', 'reject', 'drop'];
const STATES = ['enabled', 'disabled', 'logged'];
const PROTOCOLS = ['', 'icmp4', 'icmp6', 'tcp', 'udp'];

/** One address, CIDR or range; its family, or null when it is none of them. */
function family(subject: string): 4 | 6 | null {
  const s = subject.trim();
  const range = s.split('-');
  if (range.length === 2) {
    const [a, b] = range.map(family);
    return a && a === b ? a : null;
  }
  const [addr, prefix] = s.split('/');
  if (addr === undefined) return null;
  if (ipToInt(addr) !== null) return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= 32) ? 4 : null;
  if (/^[0-9A-Fa-f:]+$/.test(addr) && addr.includes(':')) return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= 128) ? 6 : null;
  return null;
}

export const aclSubjects = (v: string): string[] => v.split(',').map((x) => x.trim()).filter(Boolean);

function checkPorts(v: string, field: string): void {
  for (const p of aclSubjects(v)) {
    const [a, b] = p.split('-');
    const ok = (x: string | undefined) => x !== undefined && /^\d+$/.test(x) && Number(x) <= 65535;
    if (!ok(a) || (b !== undefined && (!ok(b) || Number(b) < Number(a)))) throw badRequest(`Invalid ${field} "${p}"`);
  }
}

/** A rule as LXD stores it: state defaulted to enabled; every field checked. */
function normalizeRule(r: NetworkACLRule, direction: string): NetworkACLRule {
  const rule = { ...r, state: r.state || 'enabled' };
  const where = `Invalid ${direction} rule`;
  if (!ACTIONS.includes(rule.action)) throw badRequest(`${where}: Action must be one of: ${ACTIONS.join(', ')}`);
  if (!STATES.includes(rule.state)) throw badRequest(`${where}: State must be one of: ${STATES.join(', ')}`);
  if (!PROTOCOLS.includes(rule.protocol)) throw badRequest(`${where}: Protocol must be one of: icmp4, icmp6, tcp, udp`);
  const families = new Set<number>();
  for (const [field, value] of [['source', rule.source], ['destination', rule.destination]] as const) {
    for (const s of aclSubjects(value)) {
      const f = family(s);
      if (f === null) throw badRequest(`${where}: Invalid ${field} "${s}" (lxdts takes IP addresses, CIDRs and ranges; ACL group and network selectors are not supported on bridge networks)`);
      families.add(f);
    }
  }
  if (families.size > 1) throw badRequest(`${where}: IPv4 and IPv6 subjects in one rule are not supported yet`);
  const tcpUdp = rule.protocol === 'tcp' || rule.protocol === 'udp';
  if (!tcpUdp && (rule.source_port || rule.destination_port)) throw badRequest(`${where}: Source and destination ports can only be used with tcp or udp`);
  if (tcpUdp) {
    checkPorts(rule.source_port, 'source port');
    checkPorts(rule.destination_port, 'destination port');
  }
  const icmp = rule.protocol === 'icmp4' || rule.protocol === 'icmp6';
  if (!icmp && (rule.icmp_type || rule.icmp_code)) throw badRequest(`${where}: ICMP type and code can only be used with icmp4 or icmp6`);
  for (const [field, v] of [['ICMP type', rule.icmp_type], ['ICMP code', rule.icmp_code]] as const) {
    if (v && !(/^\d+$/.test(v) && Number(v) <= 255)) throw badRequest(`${where}: Invalid ${field} "${v}"`);
  }
  if ((rule.protocol === 'icmp4' && families.has(6)) || (rule.protocol === 'icmp6' && families.has(4))) throw badRequest(`${where}: Protocol does not match the address family`);
  return rule;
}

function toAgentRule(r: NetworkACLRule): AgentAclRule {
  return {
    action: r.action as AgentAclRule['action'],
    logged: r.state === 'logged',
    source: aclSubjects(r.source),
    destination: aclSubjects(r.destination),
    protocol: r.protocol as AgentAclRule['protocol'],
    sourcePorts: aclSubjects(r.source_port),
    destinationPorts: aclSubjects(r.destination_port),
    icmpType: r.icmp_type,
    icmpCode: r.icmp_code,
  };
}

/** What the agent applies for a network's `security.acls` (null without ACLs). */
export function bridgeAcls(config: Record<string, string>, acls: readonly AclRow[]): AgentBridgeAcls | null {
  const names = aclSubjects(config['security.acls'] ?? '');
  if (names.length === 0) return null;
  const used = names.map((n) => acls.find((a) => a.name === n)).filter((a): a is AclRow => a !== undefined);
  const enabled = (rules: NetworkACLRule[]) => rules.filter((r) => r.state !== 'disabled').map(toAgentRule);
  return {
    ingress: used.flatMap((a) => enabled(a.ingress)),
    egress: used.flatMap((a) => enabled(a.egress)),
    defaultIngress: (config['security.acls.default.ingress.action'] || 'reject') as AgentBridgeAcls['defaultIngress'],
    defaultEgress: (config['security.acls.default.egress.action'] || 'reject') as AgentBridgeAcls['defaultEgress'],
  };
}

export function checkedAcl(put: NetworkACLPut): Omit<AclRow, 'id' | 'name'> {
  for (const key of Object.keys(put.config)) if (!key.startsWith('user.')) throw badRequest(`Invalid ACL config key "${key}" (only user.* keys)`);
  return {
    description: put.description,
    ingress: (put.ingress ?? []).map((r) => normalizeRule(r, 'ingress')),
    egress: (put.egress ?? []).map((r) => normalizeRule(r, 'egress')),
    config: put.config,
  };
}
