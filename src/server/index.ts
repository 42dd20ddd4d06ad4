export { buildServer } from './app.js';
export { ACCESS_TOKEN_TYP, Authority } from './authority.js';
export { readServiceAccountJwk, registerClient } from './clients.js';
export {
  DEFAULT_CONFIG,
  loadConfig,
  type OidcProviderConfig,
  resolveConfig,
  type ServerConfig,
} from './config.js';
export { AuthorityDb, type ClientRecord } from './db.js';
export { AuthorityKeyring } from './keyring.js';
