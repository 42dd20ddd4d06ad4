// The whole public API. Everything not exported here is internal.

export {
  type AuditEntry,
  AuditLog,
  type AuditLogOptions,
  type AuditVerifyResult,
  type VerifyAuditOptions,
  verifyAuditLog,
} from './audit/index.js';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export { decodeBase64url, encodeBase64url } from './encoding/base64url.js';
export * from './errors/index.js';
export type {
  ActionCodeOptions,
  ActionParams,
  AuditSink,
  ConsumeStore,
  DeriveOptions,
  GenerateOptions,
  JsonValue,
  OfflineAction,
  OfflineMode,
  OfflineTokenClaims,
  OfflineTokenGeneratorOptions,
  OfflineTokenResult,
  ReadOptions,
  VerifyActionCodeOptions,
} from './offline/index.js';
export {
  actionQuestion,
  canonicalAction,
  createActionCode,
  DEFAULT_ACTION_SUITE,
  DEFAULT_MAX_TOKEN_SIZE,
  DEFAULT_TTL_SECONDS,
  deriveOfflineKey,
  matchActionCode,
  OFFLINE_TYP,
  OfflineTokenGenerator,
  verifyActionCode,
} from './offline/index.js';
export * from './presets/index.js';
export type { CounterStore, ReplayStore } from './stores/types.js';
