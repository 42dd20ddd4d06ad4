import { TokenRevokedError, TokenSuspendedError } from '../../errors/server.js';
import {
  type StatusCheckOptions,
  StatusListClient,
  verifyStatusReferencedToken,
} from '../../status-list/index.js';
import { UsageError } from '../io.js';

export interface FetchCheckOptions {
  /** `--fetch-prefix`, repeatable: the only URL prefixes the list may be fetched from. */
  prefixes: readonly string[];
  timeoutMs?: number;
}

/**
 * `status check --fetch`: the token is checked as with a list file (signature with the issuer's JWKS, typ,
 * exp/nbf, iss), then its list is fetched by StatusListClient from an allowed prefix, verified with the same
 * JWKS and judged by the same staleness rule (`--now`, `--clock-tolerance`, `--allow-stale`), and read. Valid
 * returns; revoked, suspended and unknown (fail closed, ERR_STATUS_LIST_UNAVAILABLE, its cause in the message)
 * throw.
 */
export async function checkStatusFetched(
  token: string,
  checks: StatusCheckOptions,
  opts: FetchCheckOptions,
): Promise<{ status: number; idx: number; uri: string }> {
  if (opts.prefixes.length === 0)
    throw new UsageError('--fetch needs at least one --fetch-prefix URL the list may be fetched from');
  const { payload, resolver } = verifyStatusReferencedToken(token, checks);
  let client: StatusListClient;
  try {
    // the list rules of a check from a file (checkStatusOffline): the same clock, tolerance, size and age limits
    client = new StatusListClient({
      allowedPrefixes: opts.prefixes,
      key: resolver,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(checks.clock !== undefined ? { clock: checks.clock } : {}),
      ...(checks.clockTolerance !== undefined ? { clockTolerance: checks.clockTolerance } : {}),
      ...(checks.maxBytes !== undefined ? { maxListBytes: checks.maxBytes } : {}),
      ...(checks.maxListAge !== undefined ? { maxListAgeSeconds: checks.maxListAge } : {}),
    });
  } catch (e) {
    throw new UsageError(`--fetch-prefix: ${(e as Error).message}`);
  }
  // --allow-stale is the library's allowStale: any age past ttl, never past exp
  const a = await client.check(payload, {
    maxStaleSeconds: checks.allowStale ? Number.POSITIVE_INFINITY : 0,
  });
  if (a.status === 'suspended')
    throw new TokenSuspendedError('the status list marks this token as suspended');
  if (a.status !== 'valid')
    throw new TokenRevokedError(
      a.value === 1
        ? 'the status list marks this token as revoked'
        : `the status list gives this token status 0x${(a.value ?? 0).toString(16)}, not valid`,
    );
  return { status: a.value ?? 0, idx: a.idx, uri: a.uri };
}
