export {
  type StatusCheckAnswer,
  StatusListClient,
  type StatusListClientCheckOptions,
  type StatusListClientOptions,
  type TokenStatus,
} from './client.js';
export {
  createStatusListCwt,
  STATUS_LIST_CWT_TYP,
  type StatusListCwtOptions,
  verifyStatusListCwt,
} from './cwt.js';
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
  ACCESS_TOKEN_TYP,
  checkStatusListFresh,
  checkStatusOffline,
  createStatusListToken,
  DEFAULT_STATUS_LIST_MAX_AGE,
  type Jwks,
  jwksResolver,
  type KeySource,
  readStatusReference,
  STATUS_LIST_TYP,
  type StatusCheckOptions,
  type StatusCheckResult,
  type VerifiedStatusList,
  verifyStatusListToken,
  verifyStatusReferencedToken,
} from './token.js';
