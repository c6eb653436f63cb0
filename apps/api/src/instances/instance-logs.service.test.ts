// LXD 5.0.2's /logs rules over a fake agent: which names are listed and served, raw bytes (not UTF-8) passed through,
// exec record-output files served and deleted, liblxc's log kept, LXD's messages.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { AgentRequestError } from '../agent/agent.client.js';
import { ApiError, notFound } from '../http/api-error.js';
import { type InstanceLogsAgent, type InstanceLogsInstances, InstanceLogsService, validLogFileName } from './instance-logs.service.js';
import type { InstanceRow } from './instances.repository.js';

/** The agent's side: one container's log directory in memory. */
class FakeLogAgent implements InstanceLogsAgent {
  readonly files = new Map<string, Buffer>();
  readonly calls: string[] = [];

  async listLogs(lxcName: string): Promise<string[]> {
    this.calls.push(`list ${lxcName}`);
    return [...this.files.keys()].sort();
  }

  async openLog(lxcName: string, file: string): Promise<IncomingMessage> {
    this.calls.push(`open ${lxcName} ${file}`);
    const bytes = this.files.get(file);
    if (!bytes) throw new AgentRequestError(404, 'not_found', `open /var/lib/lxdts/logs/${lxcName}/${file}: no such file or directory`);
    return Object.assign(Readable.from([bytes]), { headers: { 'content-length': String(bytes.length) } }) as unknown as IncomingMessage;
  }

  async deleteLog(lxcName: string, file: string): Promise<void> {
    this.calls.push(`delete ${lxcName} ${file}`);
    if (!this.files.delete(file)) throw new AgentRequestError(404, 'not_found', `remove /var/lib/lxdts/logs/${lxcName}/${file}: no such file or directory`);
  }
}

const instances: InstanceLogsInstances = {
  find: async (project: string, name: string) => {
    if (name !== 'c1') throw notFound('Instance not found');
    return { project, name } as InstanceRow;
  },
  url: (project: string, name: string) => `/1.0/instances/${name}${project === 'default' ? '' : `?project=${project}`}`,
};

const bytesOf = async (body: Readable | Buffer): Promise<Buffer> => (Buffer.isBuffer(body) ? body : Buffer.concat(await body.toArray()));
const refused = (fn: () => Promise<unknown>, status: number, message: string) =>
  assert.rejects(fn, (e: unknown) => e instanceof ApiError && e.status === status && e.message === message);

describe('instance logs (LXD 5.0.2 /logs)', () => {
  const setup = () => {
    const agent = new FakeLogAgent();
    return { agent, service: new InstanceLogsService(instances, agent) };
  };

  test('LXD\'s names: liblxc/qemu logs and configs, migration_/snapshot_/exec_ files; nothing with a slash', () => {
    for (const ok of ['lxc.log', 'lxc.conf', 'qemu.log', 'qemu.conf', 'exec_1.stdout', 'migration_x', 'snapshot_y']) assert.equal(validLogFileName(ok), true, ok);
    for (const bad of ['console.log', 'lxc.log.old', 'forkstart.log', 'exec_../x', 'x']) assert.equal(validLogFileName(bad), false, bad);
  });

  test('the list shows the valid files of the log directory, exec record-output files included', async () => {
    const { agent, service } = setup();
    for (const f of ['console.log', 'exec_0b1d.stderr', 'exec_0b1d.stdout', 'lxc.log', 'lxc.log.old']) agent.files.set(f, Buffer.from('x'));
    assert.deepEqual(await service.list('default', 'c1'), [
      '/1.0/instances/c1/logs/exec_0b1d.stderr',
      '/1.0/instances/c1/logs/exec_0b1d.stdout',
      '/1.0/instances/c1/logs/lxc.log',
    ]);
    assert.deepEqual(await service.list('p1', 'c1'), [
      '/1.0/instances/c1/logs/exec_0b1d.stderr',
      '/1.0/instances/c1/logs/exec_0b1d.stdout',
      '/1.0/instances/c1/logs/lxc.log',
    ]);
    assert.deepEqual(agent.calls, ['list c1', 'list p1_c1']);
    await refused(() => service.list('default', 'nope'), 404, 'Instance not found');
  });

  test('a file comes as raw bytes, also when they are not UTF-8 (an exec record-output file)', async () => {
    const { agent, service } = setup();
    const bytes = Buffer.from([0xff, 0xfe, 0x62, 0x69, 0x6e, 0x80, 0x00, 0x0a]);
    agent.files.set('exec_0b1d.stdout', bytes);
    const log = await service.open('default', 'c1', 'exec_0b1d.stdout');
    assert.equal(log.size, bytes.length);
    assert.deepEqual(await bytesOf(log.body), bytes);
  });

  test('refusals and missing files as LXD answers them', async () => {
    const { agent, service } = setup();
    await refused(() => service.open('default', 'c1', 'console.log'), 400, 'log file name console.log not valid');
    await refused(() => service.open('default', 'c1', 'exec_nope.stdout'), 500, 'open /var/lib/lxdts/logs/c1/exec_nope.stdout: no such file or directory');
    // A container that never started: an empty lxc.log, as before.
    const never = await service.open('default', 'c1', 'lxc.log');
    assert.deepEqual([never.size, await bytesOf(never.body)], [0, Buffer.alloc(0)]);
    await refused(() => service.delete('default', 'c1', 'lxc.log'), 400, 'lxc.log and lxc.conf may not be deleted');
    await refused(() => service.delete('default', 'c1', 'lxc.conf'), 400, 'lxc.log and lxc.conf may not be deleted');
    await refused(() => service.delete('default', 'c1', 'lxc.log.old'), 400, 'log file name lxc.log.old not valid');
    assert.deepEqual(agent.calls, ['open c1 exec_nope.stdout', 'open c1 lxc.log']);
  });

  test('an exec record-output file is deleted; deleting it again is LXD\'s 404', async () => {
    const { agent, service } = setup();
    agent.files.set('exec_0b1d.stdout', Buffer.from('out\n'));
    await service.delete('default', 'c1', 'exec_0b1d.stdout');
    assert.equal(agent.files.has('exec_0b1d.stdout'), false);
    await refused(() => service.delete('default', 'c1', 'exec_0b1d.stdout'), 404, 'remove /var/lib/lxdts/logs/c1/exec_0b1d.stdout: no such file or directory');
  });
});
