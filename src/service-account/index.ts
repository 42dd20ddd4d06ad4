export {
  createServiceAccount,
  MAX_SERVICE_ACCOUNT_FILE,
  parseServiceAccount,
  readServiceAccountFile,
  type ServiceAccount,
  type ServiceAccountAlg,
  type ServiceAccountFile,
  serviceAccountJwks,
  serviceAccountToJson,
  writeServiceAccountFile,
} from './file.js';
export {
  DEFAULT_ASSERTION_LIFETIME,
  jwtAssertion,
  MAX_ASSERTION_LIFETIME,
  MAX_SELF_SIGNED_LIFETIME,
  selfSignedJwt,
} from './jwt.js';
