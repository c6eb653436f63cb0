// Image templates, `lxc copy` and `lxc publish` with real containers: the busybox image's templates write
// /etc/hostname and /etc/hosts on create and copy; a copy gets its own name there and its own volatile keys; a
// published instance becomes an image that launches with the source's files and its own hostname.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, busyboxImageDir, describeRun, makeTempDir } from './harness/index.js';

const isRoot = process.getuid?.() === 0;
const haveLxc = existsSync('/usr/bin/lxc-start');

interface InstanceJson {
  name: string;
  status: string;
  config: Record<string, string>;
  state: { pid: number } | null;
}

describe('templates, copy and publish (real containers)', { skip: !isRoot || !haveLxc ? 'needs root and liblxc (lxc-start)' : false }, () => {
  let d: TestDaemon;
  const ok = async (args: string[]) => {
    const r = await d.lxc(args, { timeoutMs: 180_000 });
    assert.equal(r.code, 0, describeRun(r));
    return r.stdout;
  };
  const rootfs = (name: string) => join(d.lxdDir, 'storage-pools', 'default', 'containers', name, 'rootfs');
  const hostname = (name: string) => readFileSync(join(rootfs(name), 'etc/hostname'), 'utf8');
  const instance = async (name: string) => (await d.client.query(`/1.0/instances/${name}?recursion=1`)).json as InstanceJson;
  const volumes = () => readdirSync(join(d.lxdDir, 'storage-pools', 'default', 'containers')).sort();
  let baseFingerprint = '';

  before(async () => {
    d = await TestDaemon.start();
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    const dir = await busyboxImageDir();
    await ok(['image', 'import', join(dir, 'busybox.tar.xz'), '--alias', 'busybox']);
    baseFingerprint = createHash('sha256').update(readFileSync(join(dir, 'busybox.tar.xz'))).digest('hex');
  });
  after(async () => {
    if (d) {
      for (const name of ['c1', 'c2', 'c3', 'c4']) await d.lxc(['delete', '--force', name]);
      await d.lxc(['image', 'delete', 'published']);
      await d.dispose();
    }
  });

  test('launch applies the create templates: /etc/hostname and /etc/hosts name the instance', async () => {
    await ok(['launch', 'busybox', 'c1']);
    assert.equal(hostname('c1'), 'c1\n');
    assert.match(readFileSync(join(rootfs('c1'), 'etc/hosts'), 'utf8'), /^127\.0\.1\.1\tc1$/m);
    const c1 = await instance('c1');
    assert.equal(c1.status, 'Running');
    // What the container itself sees, through its init's root.
    assert.equal(readFileSync(`/proc/${c1.state!.pid}/root/etc/hostname`, 'utf8'), 'c1\n');
    assert.equal(c1.config['volatile.apply_template'], undefined, 'cleared after the first start');
    assert.equal(c1.config['volatile.base_image'], baseFingerprint);
    // A restart renders no create template again.
    writeFileSync(join(rootfs('c1'), 'etc/hostname'), 'edited\n');
    await ok(['restart', '--force', 'c1']);
    assert.equal(hostname('c1'), 'edited\n');
    writeFileSync(join(rootfs('c1'), 'etc/hostname'), 'c1\n');
  });

  test('lxc copy of a running container: own uuid, no per-instance volatile keys, its own hostname at first start', async () => {
    writeFileSync(join(rootfs('c1'), 'root/copied-marker'), 'from c1\n');
    const c1 = await instance('c1');
    await ok(['copy', 'c1', 'c2']);
    assert.equal((await instance('c1')).status, 'Running', 'the source was unfrozen after the copy');
    const c2 = await instance('c2');
    assert.equal(c2.status, 'Stopped');
    assert.equal(c2.config['volatile.apply_template'], 'copy');
    assert.equal(c2.config['volatile.base_image'], baseFingerprint);
    assert.equal(c2.config['image.os'], c1.config['image.os']);
    assert.match(c2.config['volatile.uuid'] ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(c2.config['volatile.uuid'], c1.config['volatile.uuid']);
    for (const k of Object.keys(c2.config)) {
      assert.ok(!/^volatile\.[^.]+\.(hwaddr|host_name|name)$/.test(k) && !k.startsWith('volatile.last_state.power'), `${k} copied`);
    }
    assert.equal(hostname('c2'), 'c1\n', 'the copy has the source rootfs until it starts');
    assert.equal(readFileSync(join(rootfs('c2'), 'root/copied-marker'), 'utf8'), 'from c1\n');

    await ok(['start', 'c2']);
    assert.equal(hostname('c2'), 'c2\n');
    assert.match(readFileSync(join(rootfs('c2'), 'etc/hosts'), 'utf8'), /^127\.0\.1\.1\tc2$/m);
    assert.equal(hostname('c1'), 'c1\n', 'the source is untouched');
    const started = await instance('c2');
    assert.equal(started.status, 'Running');
    assert.equal(started.config['volatile.apply_template'], undefined);
    assert.equal(readFileSync(`/proc/${started.state!.pid}/root/etc/hostname`, 'utf8'), 'c2\n');
  });

  test('copy of a stopped container through the API with instance_only; bad copies leave nothing behind', async () => {
    await ok(['stop', '--force', 'c2']);
    const post = await d.request({ method: 'POST', path: '/1.0/instances', body: JSON.stringify({ name: 'c3', source: { type: 'copy', source: 'c2', instance_only: true } }) });
    assert.equal(post.status, 202, post.text);
    const op = (post.json as { metadata: { id: string; resources: Record<string, string[]> } }).metadata;
    assert.deepEqual(op.resources, { instances: ['/1.0/instances/c3', '/1.0/instances/c2'], containers: ['/1.0/containers/c3', '/1.0/containers/c2'] });
    const waited = await d.client.query(`/1.0/operations/${op.id}/wait?timeout=120`);
    assert.equal(waited.json?.status, 'Success', describeRun(waited.result));
    const c3 = await instance('c3');
    assert.equal(c3.config['volatile.apply_template'], 'copy');
    assert.deepEqual(c3.config['image.os'], (await instance('c2')).config['image.os']);
    assert.ok(volumes().includes('c3'));

    const before1 = volumes();
    const missing = await d.lxc(['query', '--wait', '--request', 'POST', '--data', JSON.stringify({ name: 'x1', source: { type: 'copy', source: 'nope' } }), '/1.0/instances']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/i);
    const taken = await d.lxc(['copy', 'c2', 'c1']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /already exists/);
    const noSource = await d.lxc(['query', '--wait', '--request', 'POST', '--data', JSON.stringify({ name: 'x2', source: { type: 'copy' } }), '/1.0/instances']);
    assert.notEqual(noSource.code, 0);
    assert.match(noSource.stderr, /Must specify a source instance/);
    assert.deepEqual(volumes(), before1);
    const names = ((await d.client.query('/1.0/instances')).json as string[]).sort();
    assert.deepEqual(names, ['/1.0/instances/c1', '/1.0/instances/c2', '/1.0/instances/c3']);
    // Into another project (source.project, extension container_copy_project): its volume is <project>_<name>.
    await ok(['project', 'create', 'p2', '-c', 'features.profiles=false', '-c', 'features.images=false']);
    try {
      const r = await d.lxc(
        ['query', '--wait', '--request', 'POST', '--data', JSON.stringify({ name: 'c5', source: { type: 'copy', source: 'c3', project: 'default' } }), '/1.0/instances?project=p2'],
        { timeoutMs: 180_000 },
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.ok(volumes().includes('p2_c5'));
      const c5 = (await d.client.query('/1.0/instances/c5?project=p2')).json as InstanceJson;
      assert.equal(c5.config['volatile.apply_template'], 'copy');
      await ok(['delete', 'c5', '--project', 'p2']);
    } finally {
      await d.lxc(['delete', '--force', 'c5', '--project', 'p2']);
      await ok(['project', 'delete', 'p2']);
    }
    assert.ok(!volumes().includes('p2_c5'));
  });

  test('publish: a running instance is refused; a stopped one becomes an image that launches with its files', async () => {
    const running = await d.lxc(['query', '--wait', '--request', 'POST', '--data', JSON.stringify({ source: { type: 'instance', name: 'c1' } }), '/1.0/images']);
    assert.notEqual(running.code, 0);
    assert.match(running.stderr, /Cannot export a running instance as an image/);
    const clientRefusal = await d.lxc(['publish', 'c1', '--alias', 'published']);
    assert.notEqual(clientRefusal.code, 0);
    assert.match(clientRefusal.stderr, /currently running/);

    writeFileSync(join(rootfs('c1'), 'root/published-marker'), 'published from c1\n');
    await ok(['stop', '--force', 'c1']);
    const out = await ok(['publish', 'c1', '--alias', 'published']);
    const fingerprint = /fingerprint: ([0-9a-f]{64})/.exec(out)?.[1];
    assert.ok(fingerprint, out);
    const file = join(d.lxdDir, 'images', fingerprint);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), fingerprint, 'fingerprint = sha256 of the tarball');
    assert.equal(readFileSync(file).subarray(0, 2).toString('hex'), '1f8b', 'gzip, the default images.compression_algorithm');
    const image = (await d.client.query('/1.0/images/aliases/published')).json as { target: string };
    assert.equal(image.target, fingerprint);
    const info = (await d.client.query(`/1.0/images/${fingerprint}`)).json as { properties: Record<string, string>; architecture: string; type: string };
    assert.equal(info.properties['os'], 'busybox', 'the properties of the source metadata.yaml');
    assert.equal(info.type, 'container');
    assert.ok(!readdirSync(join(d.lxdDir, 'images')).some((n) => n.startsWith('lxdts_build_')), 'no staging left');

    await ok(['launch', 'published', 'c4']);
    assert.equal(readFileSync(join(rootfs('c4'), 'root/published-marker'), 'utf8'), 'published from c1\n');
    assert.equal(readFileSync(join(rootfs('c4'), 'root/copied-marker'), 'utf8'), 'from c1\n');
    assert.equal(hostname('c4'), 'c4\n', "the published image keeps the source's templates");
    const c4 = await instance('c4');
    assert.equal(c4.status, 'Running');
    assert.equal(c4.config['volatile.base_image'], fingerprint);
    assert.equal(c4.config['image.os'], 'busybox');
  });

  test('image export streams what was imported or published: unified as one file, split as two (lxc checks the sha256)', async () => {
    // Into a directory, lxc names the files as the server's Content-Disposition does.
    const out = makeTempDir('export');
    const published = ((await d.client.query('/1.0/images/aliases/published')).json as { target: string }).target;
    await ok(['image', 'export', 'published', out]);
    assert.equal(createHash('sha256').update(readFileSync(join(out, `${published}.tar.gz`))).digest('hex'), published);

    const dir = await busyboxImageDir();
    await ok(['image', 'import', join(dir, 'meta.tar.xz'), join(dir, 'rootfs.squashfs'), '--alias', 'split']);
    const split = ((await d.client.query('/1.0/images/aliases/split')).json as { target: string }).target;
    await ok(['image', 'export', 'split', out]);
    assert.ok(readFileSync(join(out, `meta-${split}.tar.xz`)).equals(readFileSync(join(dir, 'meta.tar.xz'))), 'metadata part');
    assert.ok(readFileSync(join(out, `${split}.squashfs`)).equals(readFileSync(join(dir, 'rootfs.squashfs'))), 'rootfs part');
    await ok(['image', 'delete', 'split']);
  });

  test('publish with properties and other compressions (server config, request): properties replace metadata.yaml\'s', async () => {
    await ok(['config', 'set', 'images.compression_algorithm', 'xz']);
    try {
      const out = await ok(['publish', 'c3', 'description=c3 as an image']);
      const fingerprint = /fingerprint: ([0-9a-f]{64})/.exec(out)?.[1];
      assert.ok(fingerprint, out);
      const info = (await d.client.query(`/1.0/images/${fingerprint}`)).json as { properties: Record<string, string> };
      assert.deepEqual(info.properties, { description: 'c3 as an image' });
      assert.equal(readFileSync(join(d.lxdDir, 'images', fingerprint)).subarray(0, 6).toString('hex'), 'fd377a585a00', 'xz');
      await ok(['image', 'delete', fingerprint]);
    } finally {
      await ok(['config', 'unset', 'images.compression_algorithm']);
    }
    // The request's compression_algorithm (extension image_compression_algorithm) wins over the server's.
    const r = await d.lxc(
      ['query', '--wait', '--request', 'POST', '--data', JSON.stringify({ source: { type: 'instance', name: 'c3' }, compression_algorithm: 'none' }), '/1.0/images'],
      { timeoutMs: 180_000 },
    );
    assert.equal(r.code, 0, describeRun(r));
    const fingerprint = (JSON.parse(r.stdout) as { metadata: { fingerprint: string } }).metadata.fingerprint;
    const head = readFileSync(join(d.lxdDir, 'images', fingerprint)).subarray(0, 512);
    assert.equal(head.subarray(257, 262).toString('latin1'), 'ustar', 'plain tar');
    assert.equal(head.subarray(0, 13).toString('latin1'), 'metadata.yaml', 'metadata.yaml comes first');
    await ok(['image', 'delete', fingerprint]);
  });

  test('cleanup: deleting everything leaves no volume and only the imported image', async () => {
    for (const name of ['c1', 'c2', 'c3', 'c4']) await ok(['delete', '--force', name]);
    await ok(['image', 'delete', 'published']);
    assert.deepEqual(volumes(), []);
    assert.deepEqual((await d.client.query('/1.0/instances')).json, []);
    const images = ((await d.client.query('/1.0/images')).json as string[]).map((u) => u.split('/').pop());
    assert.deepEqual(images, [baseFingerprint]);
  });
});
