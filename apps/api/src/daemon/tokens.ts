// Injection tokens for values that are not classes.
export const STORE = Symbol('lxdts.store');
export const DAEMON_PATHS = Symbol('lxdts.paths');
export const DAEMON_OPTIONS = Symbol('lxdts.daemon-options');
/** The AgentClient of this host's agent. */
export const AGENT_CLIENT = Symbol('lxdts.agent-client');
export const CLUSTER_RUNTIME = Symbol('lxdts.cluster-runtime');
