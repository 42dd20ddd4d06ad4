import {
  OAuthInvalidClientError,
  OAuthInvalidGrantError,
  OAuthInvalidRequestError,
} from '../errors/server.js';
import { AssertionRejected, verifyClientAssertion } from './assertion.js';
import type { Authority } from './authority.js';

/** RFC 7523 2.2 client_assertion_type for private_key_jwt. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * One replay namespace for grant assertions and client assertions: a jti accepted once is refused everywhere,
 * so an assertion captured from /introspect cannot be replayed as a grant at /token (RFC 7523 3 item 7).
 */
const REPLAY_NS = 'assertion';

/** True when the request carries client authentication parameters. */
export function hasClientAssertion(p: Record<string, string>): boolean {
  return p.client_assertion !== undefined || p.client_assertion_type !== undefined;
}

/**
 * private_key_jwt client authentication (RFC 7523 2.2, 3): any failure is invalid_client (401). The
 * assertion may be addressed to the issuer, the token endpoint or the endpoint it is sent to.
 */
export function authenticateClient(a: Authority, p: Record<string, string>, endpoint: string): string {
  if (p.client_assertion_type !== CLIENT_ASSERTION_TYPE)
    throw new OAuthInvalidClientError(
      `client authentication requires client_assertion_type ${CLIENT_ASSERTION_TYPE}`,
    );
  const assertion = p.client_assertion;
  if (!assertion) throw new OAuthInvalidClientError('missing client_assertion');
  try {
    return verifyClientAssertion(assertion, {
      db: a.db,
      audiences: [a.issuer, a.tokenEndpoint, `${a.issuer}${endpoint}`],
      now: a.now(),
      replayNs: REPLAY_NS,
      ...(p.client_id !== undefined ? { clientId: p.client_id } : {}),
    }).clientId;
  } catch (e) {
    if (e instanceof AssertionRejected) throw new OAuthInvalidClientError(`${e.reason}: ${e.message}`);
    throw e;
  }
}

/** RFC 7523 2.1 authorization grant: any failure of the assertion is invalid_grant. */
export function verifyGrantAssertion(a: Authority, assertion: string | undefined): string {
  if (!assertion) throw new OAuthInvalidRequestError('missing parameter assertion');
  try {
    return verifyClientAssertion(assertion, {
      db: a.db,
      audiences: [a.tokenEndpoint, a.issuer],
      now: a.now(),
      replayNs: REPLAY_NS,
    }).clientId;
  } catch (e) {
    if (e instanceof AssertionRejected) throw new OAuthInvalidGrantError(`${e.reason}: ${e.message}`);
    throw e;
  }
}
