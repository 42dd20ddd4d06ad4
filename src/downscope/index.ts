export { DownscopedTokenDeriver, deriveDownscopedToken } from './derive.js';
export { grantFromScope, intermediaryForAccessToken, TOKEN_TYPE_INTERMEDIARY } from './exchange.js';
export { type CreateIntermediaryOptions, createIntermediary, type Intermediary } from './intermediary.js';
export { loadResourceServerKey, type ResourceServerKey } from './rs-key.js';
export type { AccessRule } from './rules.js';
export {
  DownscopedTokenVerifier,
  MAX_DOWNSCOPED_TOKEN_SIZE,
  type VerifiedDownscopedToken,
  type VerifyDownscopedOptions,
  verifyDownscopedToken,
} from './verify.js';
