export { CelAttributeMapper, toCelInput } from './cel.js';
export { type FederatedIdentity, OidcTrust, type OidcTrustConfig } from './oidc.js';
export {
  MAX_SAML_BYTES,
  type SamlClaims,
  type SamlProviderConfig,
  SamlTrust,
  verifySamlAssertion,
} from './saml.js';
