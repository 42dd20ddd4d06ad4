export {
  MAX_STATUS_LIST_BYTES,
  STATUS_INVALID,
  STATUS_SUSPENDED,
  STATUS_VALID,
  type StatusBits,
  StatusList,
  type StatusListJson,
} from './list.js';
export {
  checkStatusOffline,
  createStatusListToken,
  type Jwks,
  jwksResolver,
  type KeySource,
  readStatusReference,
  STATUS_LIST_TYP,
  type StatusCheckResult,
  type VerifiedStatusList,
  verifyStatusListToken,
} from './token.js';
