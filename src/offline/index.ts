// Offline tokens: the generator/reader, one-time use, and action-bound short codes.

export type { ActionCodeOptions, VerifyActionCodeOptions } from './action-code.js';
export {
  actionQuestion,
  canonicalAction,
  createActionCode,
  DEFAULT_ACTION_SUITE,
  matchActionCode,
  verifyActionCode,
} from './action-code.js';
export type { DeriveOptions } from './derive.js';
export { deriveOfflineKey, FIXED_SCRYPT_SALT, HKDF_INFO, SCRYPT_PARAMS } from './derive.js';
export { OFFLINE_TYP } from './envelope.js';
export { DEFAULT_MAX_TOKEN_SIZE, DEFAULT_TTL_SECONDS, OfflineTokenGenerator } from './generator.js';
export type {
  ActionParams,
  AuditSink,
  ConsumeStore,
  GenerateOptions,
  JsonValue,
  OfflineAction,
  OfflineMode,
  OfflineTokenClaims,
  OfflineTokenGeneratorOptions,
  OfflineTokenResult,
  ReadOptions,
} from './types.js';
