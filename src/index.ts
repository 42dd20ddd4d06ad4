// The whole public API. Everything not exported here is internal.
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export { decodeBase64url, encodeBase64url } from './encoding/base64url.js';
export * from './errors/index.js';
export type { CounterStore, ReplayStore } from './stores/types.js';
