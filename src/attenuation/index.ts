export { type CaveatContext, caveat, evaluateCaveat } from './caveats.js';
export {
  type AttenuatedToken,
  attenuate,
  MAX_CAVEATS,
  MAX_TOKEN_LENGTH,
  mintAttenuated,
  parseAttenuated,
  verifyChain,
} from './token.js';
export { type VerifyAttenuatedOptions, verifyAttenuated } from './verify.js';
