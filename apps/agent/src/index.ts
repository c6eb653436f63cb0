// @lxdts/agent: the per-host executor. The daemon runs dist/main.js as a child; tests start it in-process.
export { type AgentServerOptions, type RunningAgent, startAgentServer } from './server/agent-server.js';
export { type AgentLogger, type LogLevel, createLogger, silentLogger } from './log.js';
export { type AgentPaths, agentPaths } from './paths.js';
export { AgentError } from './errors.js';
export type { ContainerRuntime, ContainerCommand, ExecOptions } from './runtime/container-runtime.js';
export type { StorageDriver } from './storage/storage-driver.js';
export { buildLxcConfig, type HostFacts, type LxcConfig, type LxcConfigInput } from './runtime/lxc-config.builder.js';
