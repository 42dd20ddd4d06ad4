export { dpopBindingForTokenRequest } from './authority.js';
export { normalizeHtu } from './htu.js';
export { DpopNonceManager } from './nonce.js';
export { type DpopPluginOptions, dpopPlugin } from './plugin.js';
export { accessTokenHash, type CreateDpopProofOptions, createDpopProof } from './proof.js';
export { type VerifiedDpopRequest, type VerifyDpopRequestOptions, verifyDpopRequest } from './request.js';
export { jwkThumbprint } from './thumbprint.js';
export {
  SENDER_CONSTRAINED_OAUTH_ERRORS,
  type SenderConstraint,
  senderConstraintForTokenRequest,
} from './token-endpoint.js';
export {
  DPOP_MAX_PROOF_SIZE,
  type VerifiedDpopProof,
  type VerifyDpopProofOptions,
  verifyDpopProof,
} from './verify.js';
