export { buildJwks, exportJwk, generateKey, importJwk, thumbprint } from './jwk.js';
export {
  decryptWithPassphrase,
  encryptWithPassphrase,
  readKeyFile,
  readKeyFileSync,
  writeKeyFile,
  writeKeyFileSync,
} from './keyfile.js';
export { Keyring, type KeyringOptions } from './keyring.js';
export { LocalJwks, MAX_JWKS_KEYS } from './local_jwks.js';
export type { Jwk, Jwks, JwsAlg, KeyAlg, KeySelector, OfftokenKey, SealAlg } from './types.js';
