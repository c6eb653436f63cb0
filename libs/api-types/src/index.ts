export * from './response.js';
export * from './operation.js';
export * from './event.js';
export * from './server.js';
