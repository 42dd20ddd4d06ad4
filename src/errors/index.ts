// Each capability owns one file of error classes; this index is the one place they are gathered.
export * from './base.js';
export * from './cel.js';
export * from './dpop.js';
export * from './jose.js';
export * from './keys.js';
export * from './offline.js';
export * from './otp.js';
export * from './server.js';
export * from './status-list.js';
export * from './stores.js';
