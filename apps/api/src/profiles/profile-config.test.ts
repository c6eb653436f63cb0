import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceConfigKeyProblem } from './instance-config-keys.js';
import { profileConfigProblem } from './profile-config.js';

test('profiles accept container and VM keys and the free-form namespaces', () => {
  assert.equal(
    profileConfigProblem({
      'limits.cpu': '2',
      'limits.memory': '512MB',
      'security.nesting': 'true',
      'security.secureboot': 'false',
      'boot.autostart': 'yes',
      'environment.FOO': 'bar',
      'user.note': 'anything',
      'linux.sysctl.net.ipv4.ip_forward': '1',
      'limits.kernel.nofile': '1024',
      'cloud-init.user-data': '#cloud-config\npackages:\n  - vim\n',
      'snapshots.schedule': '@daily',
      'raw.lxc': 'lxc.apparmor.profile=unconfined',
    }),
    null,
  );
});

test('unknown, volatile and image keys are refused with LXD messages', () => {
  assert.equal(profileConfigProblem({ 'foo.bar': '1' }), 'Unknown configuration key: foo.bar');
  assert.equal(profileConfigProblem({ 'limits.kernel.': '1' }), 'Unknown configuration key: limits.kernel.');
  assert.equal(profileConfigProblem({ 'volatile.eth0.hwaddr': 'x' }), 'Volatile keys can only be set on instances');
  assert.equal(profileConfigProblem({ 'image.os': 'x' }), 'Image keys can only be set on instances');
});

test('values are checked', () => {
  assert.equal(profileConfigProblem({ 'limits.memory': 'bogus' }), 'Invalid value: bogus');
  assert.equal(profileConfigProblem({ 'security.privileged': 'maybe' }), 'Invalid value for a boolean "maybe"');
  assert.equal(profileConfigProblem({ 'limits.cpu': 'two' }), 'Invalid CPU limit syntax');
  assert.equal(profileConfigProblem({ 'boot.autostart.delay': '1s' }), 'Invalid value for an integer "1s"');
  assert.equal(profileConfigProblem({ 'limits.memory.enforce': 'medium' }), 'Invalid value "medium" (not one of [soft hard])');
  assert.match(profileConfigProblem({ 'cloud-init.user-data': '#cloud-config\n: : :\n  - [' })!, /.+/);
  assert.equal(profileConfigProblem({ 'raw.lxc': 'lxc.logfile = /tmp/x' }), 'Setting lxc.logfile is not allowed');
  assert.equal(profileConfigProblem({ 'raw.lxc': 'not a line' }), 'Invalid raw.lxc line: not a line');
  assert.equal(profileConfigProblem({ 'raw.lxc': 'lxc.net.0.type=veth' }), 'Only interface-specific ipv4/ipv6 lxc.net. keys are allowed');
});

test('cross-key rules', () => {
  assert.equal(
    profileConfigProblem({ 'security.syscalls.allow': 'a', 'security.syscalls.whitelist': 'b' }),
    'Mutually exclusive keys security.syscalls.allow and security.syscalls.whitelist are set',
  );
  assert.equal(profileConfigProblem({ 'raw.seccomp': 'x', 'security.syscalls.deny': 'y' }), 'raw.seccomp is mutually exclusive with security.syscalls*');
  assert.equal(
    profileConfigProblem({ 'security.privileged': 'true', 'nvidia.runtime': 'true' }),
    'nvidia.runtime is incompatible with privileged containers',
  );
});

test('instance key checks depend on the instance type', () => {
  assert.equal(instanceConfigKeyProblem('security.nesting', 'true', 'container'), null);
  assert.equal(instanceConfigKeyProblem('security.nesting', 'true', 'virtual-machine'), 'Unknown configuration key: security.nesting');
  assert.equal(instanceConfigKeyProblem('volatile.eth0.hwaddr', '00:16:3e:00:00:01', 'container'), null);
  assert.equal(instanceConfigKeyProblem('linux.sysctl.x', '1', 'virtual-machine'), 'Unknown configuration key: linux.sysctl.x');
});
