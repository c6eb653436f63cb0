// The e2e harness: daemons on temporary LXD_DIRs, the real `lxc`, raw HTTP clients, ports and cleanup; private
// networks of namespaces and multi-member clusters on them.
export * from './cleanup.js';
export * from './daemon.js';
export * from './http-client.js';
export * from './lxc.js';
export * from './paths.js';
export * from './ports.js';
export * from './run.js';
export * from './yaml-docs.js';
export * from './images.js';
export * from './netns.js';
export * from './cluster.js';
export * from './cluster-verbs.js';
export * from './lxc-asserts.js';
