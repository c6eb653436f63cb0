// Fixtures for tests that run real containers (the agent's runtime, exec and console tests; the API's exec
// protocol test): one busybox image, one host check, one container started through an agent socket.
export { buildBusyboxImage } from './busybox-image.js';
export { type BusyboxContainer, type BusyboxContainerOptions, agentRequest, startBusyboxContainer } from './busybox-container.js';
export { containerTestSkipReason } from './host-requirements.js';
