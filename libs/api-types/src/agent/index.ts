// Internal protocol between the API daemon and the host agent ($LXD_DIR/agent.socket, HTTP/1.1 + JSON).
// Not part of LXD's REST API: every name carries the `Agent` prefix so it never clashes with a wire type.
export * from './agent-error.js';
export * from './agent-host.js';
export * from './agent-instance.js';
export * from './agent-storage.js';
export * from './agent-files.js';
export * from './agent-exec.js';
export * from './agent-templates.js';
export * from './agent-console.js';
export * from './agent-logs.js';
export * from './agent-network.js';
