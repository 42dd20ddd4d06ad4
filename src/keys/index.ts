export { bindKeyObjects, buildJwks, exportJwk, generateKey, importJwk, thumbprint, useFor } from './jwk.js';
export {
  decryptWithPassphrase,
  encryptWithPassphrase,
  readKeyFile,
  readKeyFileSync,
  readPrivateFileSync,
  writeKeyFile,
  writeKeyFileSync,
} from './keyfile.js';
export { Keyring, type KeyringOptions } from './keyring.js';
export { LocalJwks, type LocalJwksOptions, MAX_JWKS_KEYS } from './local_jwks.js';
export { exportPem, importPem, MAX_PEM_CHARS } from './pem.js';
export {
  RemoteJwks,
  type RemoteJwksErrorEvent,
  type RemoteJwksOptions,
  type RemoteJwksRefreshEvent,
  type RemoteJwksSnapshot,
} from './remote_jwks.js';
export { headerSelector, keyMatches, selectKey } from './select.js';
export type {
  AgreementAlg,
  AgreementCurve,
  Jwk,
  Jwks,
  JwsAlg,
  KeyAlg,
  KeySelector,
  OfftokenKey,
  SealAlg,
} from './types.js';
