// Server configuration: validation against the known keys, persistence, and side effects (HTTPS listener).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { badRequest } from '../http/api-error.js';
import { ServerConfigRepository } from './server-config.repository.js';
import { SERVER_CONFIG_KEYS, serverConfigKey } from './server-config-keys.js';

/** Applies a changed key to the running daemon; throwing refuses the change. */
export type ConfigApplier = (key: string, value: string) => Promise<void>;

@Injectable()
export class ServerConfigService {
  private cache: Record<string, string> | undefined;
  private readonly appliers = new Map<string, ConfigApplier>();

  constructor(private readonly repo: ServerConfigRepository) {}

  onChange(key: string, applier: ConfigApplier): void {
    this.appliers.set(key, applier);
  }

  /** All set keys, local and global merged (stored values; the password is hashed). */
  async all(): Promise<Record<string, string>> {
    if (!this.repo.cacheable) {
      this.cache = undefined;
      const { local, global } = await this.repo.load();
      return { ...global, ...local };
    }
    if (!this.cache) {
      const { local, global } = await this.repo.load();
      this.cache = { ...global, ...local };
    }
    return this.cache;
  }

  async get(key: string): Promise<string> {
    return (await this.all())[key] ?? '';
  }

  /** The config as GET /1.0 shows it: a set trust password reads `true`. */
  async visible(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(await this.all())) out[k] = SERVER_CONFIG_KEYS[k]?.hidden ? 'true' : v;
    return out;
  }

  /** PUT replaces (unset keys are removed), PATCH merges. Validates everything before touching anything. */
  async update(input: Record<string, string>, mode: 'replace' | 'merge'): Promise<Record<string, string>> {
    const current = await this.all();
    const target: Record<string, string> = mode === 'replace' ? {} : { ...current };
    for (const [k, v] of Object.entries(input)) target[k] = v;
    for (const [key, value] of Object.entries(input)) {
      const def = serverConfigKey(key);
      if (!def) throw badRequest(`cannot set '${key}' to '${value}': unknown key`);
      const problem = def.validate(value);
      if (problem) throw badRequest(`cannot set '${key}' to '${value}': ${problem}`);
    }
    const changed: Record<string, string> = {};
    for (const key of new Set([...Object.keys(current), ...Object.keys(target)])) {
      let next = target[key] ?? '';
      if (SERVER_CONFIG_KEYS[key]?.hidden && next !== '' && mode === 'replace' && next === 'true' && current[key]) {
        next = current[key]!; // `lxc config edit` round-trips the masked password
      }
      if ((current[key] ?? '') === next) continue;
      changed[key] = key === 'core.trust_password' && next !== '' ? hashPassword(next) : next;
    }
    // Side effects first: a listener that cannot bind refuses the whole change.
    const applied: [string, string][] = [];
    try {
      for (const [key, value] of Object.entries(changed)) {
        const apply = this.appliers.get(key);
        if (apply) {
          await apply(key, value);
          applied.push([key, current[key] ?? '']);
        }
      }
    } catch (err) {
      for (const [key, old] of applied.reverse()) await this.appliers.get(key)!(key, old).catch(() => undefined);
      throw badRequest(`Cannot apply server config: ${(err as Error).message}`);
    }
    const split = { local: {} as Record<string, string>, global: {} as Record<string, string> };
    for (const [key, value] of Object.entries(changed)) split[serverConfigKey(key)?.scope ?? 'global'][key] = value;
    await this.repo.write(split);
    this.cache = undefined;
    return changed;
  }

  async checkTrustPassword(password: string): Promise<boolean> {
    const stored = await this.get('core.trust_password');
    return stored !== '' && verifyPassword(password, stored);
  }
}

/** salt(hex) + "$" + sha512(salt + password) — never store the clear password. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16).toString('hex');
  return `${salt}$${createHash('sha512').update(salt + password).digest('hex')}`;
}

function verifyPassword(password: string, stored: string): boolean {
  const [salt, hash] = stored.split('$');
  if (!salt || !hash) return false;
  const got = Buffer.from(createHash('sha512').update(salt + password).digest('hex'));
  const want = Buffer.from(hash);
  return got.length === want.length && timingSafeEqual(got, want);
}
