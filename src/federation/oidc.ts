import type { KeyObject } from 'node:crypto';
import type { CelBudget } from '../cel/budget.js';
import { type Clock, systemClock } from '../clock.js';
import { AuthoritySignatureError, FederationTokenInvalidError } from '../errors/server.js';
import { decodeCompact, verifyDecoded } from '../status-list/jws.js';
import { type Jwks, jwksResolver } from '../status-list/token.js';
import { CelAttributeMapper, type GrantPolicy, type PolicyConfig } from './cel.js';

export interface OidcTrustConfig extends PolicyConfig {
  issuer: string;
  jwks?: Jwks;
  jwks_uri?: string;
  audiences: string[];
  attribute_mapping: Record<string, string>;
  attribute_condition?: string;
  /** Accept each subject token once (by its jti, kept until its exp): docs/service.md "Design notes". */
  single_use?: boolean;
}

export interface FederatedIdentity {
  issuer: string;
  subject: string;
  attributes: Record<string, unknown>;
  /** The provider's scope/audience lists for this identity (static or computed by CEL from the token). */
  policy: GrantPolicy;
  /** Set when the provider makes subject tokens single-use: the replay key (jti) the caller must consume once. */
  replayKey?: string;
  /** The external token's exp: the issued token never outlives it (RFC 8693 / issue requirement). */
  exp: number;
}

const ALGS = ['ES256', 'EdDSA'] as const;
const JWKS_FETCH_TIMEOUT_MS = 5000;
const JWKS_MAX_BYTES = 256 * 1024;
const JWKS_MIN_REFETCH_S = 30;

/** Trust in one external OIDC provider: its keys (inline, or a configured JWKS URL), audiences and CEL mapping. */
export class OidcTrust {
  readonly issuer: string;
  private readonly mapper: CelAttributeMapper;
  private resolver: ((h: { kid?: string; alg: string }) => KeyObject) | undefined;
  private fetchedAt = 0;

  constructor(
    private readonly cfg: OidcTrustConfig,
    private readonly clock: Clock = systemClock,
    celBudget?: Partial<CelBudget>,
  ) {
    this.issuer = cfg.issuer;
    this.mapper = new CelAttributeMapper(cfg.attribute_mapping, cfg.attribute_condition, cfg, celBudget);
    if (cfg.jwks) this.resolver = jwksResolver(cfg.jwks);
  }

  private async fetchJwks(): Promise<void> {
    const uri = this.cfg.jwks_uri;
    if (!uri) return;
    const now = this.clock();
    if (this.resolver && now - this.fetchedAt < JWKS_MIN_REFETCH_S) return;
    try {
      const res = await fetch(uri, { signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS), redirect: 'error' });
      const text = await res.text();
      if (!res.ok || text.length > JWKS_MAX_BYTES) throw new Error('bad response');
      this.resolver = jwksResolver(JSON.parse(text) as Jwks);
      this.fetchedAt = now;
    } catch {
      throw new FederationTokenInvalidError(`the JWKS of ${this.issuer} could not be fetched`);
    }
  }

  /** Verifies an external OIDC JWT (signature, iss, aud, exp, nbf) and maps it through CEL. */
  async verify(token: string): Promise<FederatedIdentity> {
    let d: ReturnType<typeof decodeCompact>;
    try {
      d = decodeCompact(token);
    } catch {
      throw new FederationTokenInvalidError('the subject token is not a compact JWS');
    }
    if (!this.resolver) await this.fetchJwks();
    let key: KeyObject;
    try {
      key = this.resolver!(d.header);
    } catch {
      // unknown kid: the provider may have rotated; refetch once (rate limited)
      await this.fetchJwks();
      try {
        key = this.resolver!(d.header);
      } catch {
        throw new FederationTokenInvalidError('no key of the provider matches the subject token');
      }
    }
    try {
      verifyDecoded(d, key, ALGS);
    } catch (e) {
      if (e instanceof AuthoritySignatureError)
        throw new FederationTokenInvalidError('the subject token signature does not verify');
      throw e;
    }
    const c = d.payload;
    if (c.iss !== this.issuer)
      throw new FederationTokenInvalidError('the subject token iss is not the provider');
    const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
    if (!aud.some((a) => typeof a === 'string' && this.cfg.audiences.includes(a)))
      throw new FederationTokenInvalidError('the subject token aud is not an allowed audience');
    const now = this.clock();
    if (typeof c.exp !== 'number') throw new FederationTokenInvalidError('the subject token has no exp');
    if (now >= c.exp) throw new FederationTokenInvalidError('the subject token has expired');
    if (typeof c.nbf === 'number' && now < c.nbf)
      throw new FederationTokenInvalidError('the subject token is not yet valid');
    // single use needs a name for the token that its holder cannot vary: the signed jti (the signature bytes
    // are not one, ECDSA signatures being malleable)
    if (this.cfg.single_use && (typeof c.jti !== 'string' || c.jti.length === 0 || c.jti.length > 256))
      throw new FederationTokenInvalidError(
        'the provider makes subject tokens single-use: the token needs a jti',
      );
    const { subject, attributes, policy } = this.mapper.map(c);
    return {
      issuer: this.issuer,
      subject,
      attributes,
      policy,
      exp: c.exp,
      ...(this.cfg.single_use ? { replayKey: c.jti as string } : {}),
    };
  }
}
