import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type Clock, systemClock } from '../clock.js';
import { loadResourceServerKey, type ResourceServerKey } from '../downscope/rs-key.js';
import { DpopNonceManager } from '../dpop/nonce.js';
import { JwksNoMatchingKeyError } from '../errors/keys.js';
import {
  AuthoritySignatureError,
  OAuthInvalidGrantError,
  StatusListMismatchError,
  SuspensionUnsupportedError,
  TokenRevokedError,
} from '../errors/server.js';
import { OidcTrust } from '../federation/oidc.js';
import { SamlTrust } from '../federation/saml.js';
import { verifyJwt } from '../jose/jwt/verify.js';
import type { JwsHeader } from '../jose/types.js';
import { decodeCompact, signCompact, verifyDecoded } from '../status-list/jws.js';
import { STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID, StatusList } from '../status-list/list.js';
import { createStatusListToken } from '../status-list/token.js';
import type { ReplayStore } from '../stores/types.js';
import { celBudgetFromConfig, type ServerConfig } from './config.js';
import { AuthorityDb } from './db.js';
import { AuthorityKeyring } from './keyring.js';
import { MAX_PARAM } from './params.js';

/** RFC 9068 2.1: the JWT access token typ. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
const ALGS = ['ES256', 'EdDSA'] as const;
const VERIFIED_CACHE_MAX = 10_000;
// 128-bit jti values from the CSPRNG, drawn 4 KiB at a time (one native call per 256 tokens, not one each)
const JTI_POOL = 4096;
let jtiPool = Buffer.alloc(0);
let jtiAt = 0;
function freshJti(): string {
  if (jtiAt + 16 > jtiPool.length) {
    jtiPool = randomBytes(JTI_POOL);
    jtiAt = 0;
  }
  jtiAt += 16;
  return jtiPool.toString('base64url', jtiAt - 16, jtiAt);
}

/** Status list slots reserved per SQLite commit; unused ones are skipped after a restart. */
const STATUS_SLOT_BLOCK = 256;

/**
 * Room a /revoke or /introspect body needs beside the token: the client assertion and the other parameters
 * (`client_assertion_type` alone is 90 characters form-encoded; an EdDSA or ES256 assertion is well under 1 KiB).
 */
const REQUEST_ROOM = 2048;

/**
 * The longest access token the authority issues: one it accepts back as the `token` parameter of /revoke and
 * /introspect (one parameter is at most MAX_PARAM, the body at most bodyLimit), so every token it issues can
 * be revoked (issue 17 item 5: a 34,025-character token could be checked offline but never revoked).
 */
export function maxIssuedTokenChars(bodyLimit: number): number {
  return Math.min(MAX_PARAM, bodyLimit - REQUEST_ROOM);
}

export interface IssueRequest {
  clientId: string;
  sub: string;
  /** Decided by the scope and audience policy (src/server/policy.ts). */
  aud: string;
  scope?: string;
  /** Upper bound on exp (an exchanged external token's exp). */
  notAfter?: number;
  /** RFC 8693 4.1: the authenticated client acting for the federated subject. */
  act?: { sub: string };
  extra?: Record<string, unknown>;
}

/** What `Authority.suspend` and `resume` did: the token's slot and its status now. */
export interface TokenStatusChange {
  listId: string;
  idx: number;
  status: 'suspended' | 'valid';
  /** False when the token already had that status. */
  changed: boolean;
}

/** The authority's state: database, keyring, federation trust. Pure of HTTP; the routes call into it. */
export class Authority {
  readonly db: AuthorityDb;
  readonly keyring: AuthorityKeyring;
  readonly providers = new Map<string, OidcTrust>();
  readonly samlProviders: SamlTrust[] = [];
  private issuerOverride: string | undefined;
  /** RFC 9449 8: the DPoP-Nonce values /token hands out (rotating), and the proof jti cache in the database. */
  readonly dpopNonces: DpopNonceManager;
  readonly dpopReplay: ReplayStore;
  private rsKey: ResourceServerKey | undefined;
  private listCache = new Map<string, { token: string; exp: number }>();
  /** The database's data_version the cached lists were signed at: a commit by the CLI makes it change. */
  private listCacheVersion = -1;
  private slots = { listId: '', next: 0, end: 0 };
  private verifiedCache = new Map<string, { claims: Record<string, unknown>; exp: number; kid: string }>();

  constructor(
    readonly config: ServerConfig,
    readonly clock: Clock = systemClock,
  ) {
    this.db = new AuthorityDb(path.join(config.dataDir, 'authority.db'), true);
    this.keyring = AuthorityKeyring.openOrCreate(
      path.join(config.dataDir, 'keyring.json'),
      config.signingAlg,
      Math.floor(clock()),
    );
    const celBudget = celBudgetFromConfig(config.federation.cel_budget);
    for (const p of config.federation.providers) {
      if (p.type === 'saml') this.samlProviders.push(new SamlTrust(p, clock, celBudget));
      else this.providers.set(p.issuer, new OidcTrust(p, clock, celBudget));
    }
    this.issuerOverride = config.issuer;
    this.dpopNonces = new DpopNonceManager({ clock });
    this.dpopReplay = { consumeOnce: async (ns, k, exp) => this.db.consumeOnce(ns, k, exp, this.now()) };
  }

  /** Downscoping: the key session keys are sealed to, shared with resource servers (dataDir/downscope-key.json). */
  get downscopeKey(): ResourceServerKey {
    this.rsKey ??= loadResourceServerKey(path.join(this.config.dataDir, 'downscope-key.json'), {
      create: true,
    });
    return this.rsKey;
  }

  get issuer(): string {
    return this.issuerOverride ?? `http://${this.config.host}:${this.config.port}`;
  }

  /** Used when the issuer is derived from the bound socket (port 0 in tests). */
  setIssuer(issuer: string): void {
    this.issuerOverride = issuer;
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/token`;
  }

  now(): number {
    return Math.floor(this.clock());
  }

  statusListUri(listId: string): string {
    return `${this.issuer}/status-lists/${listId}`;
  }

  /** Signs an RFC 9068 access token carrying a freshly allocated status list slot. */
  issue(r: IssueRequest): { token: string; expiresIn: number; jti: string } {
    const now = this.now();
    let exp = now + this.config.accessTokenTtl;
    if (r.notAfter !== undefined) exp = Math.min(exp, Math.floor(r.notAfter));
    // an external token inside its clock-skew grace has no lifetime left to hand on
    if (exp <= now) throw new OAuthInvalidGrantError('the subject token has no remaining lifetime');
    const jti = freshJti();
    const { listId, idx } = this.nextStatusSlot();
    // mapped attributes first: a mapping can never overwrite a registered claim (config also refuses the names)
    const claims: Record<string, unknown> = {
      ...(r.extra ?? {}),
      iss: this.issuer,
      sub: r.sub,
      aud: r.aud,
      client_id: r.clientId,
      iat: now,
      exp,
      jti,
      ...(r.scope ? { scope: r.scope } : {}),
      ...(r.act ? { act: r.act } : {}),
      status: { status_list: { idx, uri: this.statusListUri(listId) } },
    };
    const { kid, privateKey } = this.keyring.signingKey();
    const token = signCompact({ typ: ACCESS_TOKEN_TYP, kid }, claims, privateKey);
    const max = maxIssuedTokenChars(this.config.bodyLimit);
    // the slot drawn above is simply never used (slots are bits, never reused)
    if (token.length > max)
      throw new OAuthInvalidGrantError(
        `the access token would be ${token.length} characters, over the ${max} that /revoke and /introspect accept: request a shorter scope or map fewer claims`,
      );
    return { token, expiresIn: exp - now, jti };
  }

  /**
   * The next status list slot, from a block reserved in one SQLite commit: issuing a token writes nothing of
   * its own (the token carries its slot; revocation is recorded by slot).
   */
  private nextStatusSlot(): { listId: string; idx: number } {
    if (this.slots.next >= this.slots.end) {
      // The reservation commits with the batch that carries this grant's jti. If that commit fails (a full
      // disk), the rows roll back and the block is forgotten here too: kept, its slots would be reserved again
      // and handed to a second token, and revoking one would revoke the other (issue 17). The tokens issued
      // from it never leave: their responses wait for the same commit.
      let block: { listId: string; next: number; end: number } | undefined;
      const r = this.db.reserveStatusSlots(
        this.config.statusList.bits,
        this.config.statusList.size,
        STATUS_SLOT_BLOCK,
        () => {
          if (this.slots === block) this.slots = { listId: '', next: 0, end: 0 };
        },
      );
      block = { listId: r.listId, next: r.start, end: r.end };
      this.slots = block;
    }
    return { listId: this.slots.listId, idx: this.slots.next++ };
  }

  /** The status slot a verified token of ours refers to (its `status.status_list`). */
  private slotOf(
    c: Record<string, unknown>,
    issuer = this.issuer,
  ): { listId: string; idx: number } | undefined {
    const ref = (c.status as { status_list?: { idx?: unknown; uri?: unknown } } | undefined)?.status_list;
    const prefix = `${issuer}/status-lists/`;
    if (typeof ref?.uri !== 'string' || !ref.uri.startsWith(prefix)) return undefined;
    if (typeof ref.idx !== 'number' || !Number.isSafeInteger(ref.idx) || ref.idx < 0) return undefined;
    return { listId: ref.uri.slice(prefix.length), idx: ref.idx };
  }

  /** A verified token of ours is active unless its status slot is revoked. */
  isActive(claims: Record<string, unknown>): boolean {
    const slot = this.slotOf(claims);
    return slot !== undefined && !this.db.isRevoked(slot.listId, slot.idx);
  }

  /** Verifies one of our own access tokens: signature by a key still in the keyring, typ, iss, exp. */
  verifyOwnToken(token: string): Record<string, unknown> | undefined {
    const now = this.now();
    // resource servers introspect the same token many times: a verified token is remembered (bounded) until
    // its exp, and only while its signing key is still in the keyring; revocation is checked by the caller
    const hit = this.verifiedCache.get(token);
    if (hit) {
      if (now < (hit.exp as number) && this.keyring.publicKey(hit.kid, now)) return hit.claims;
      this.verifiedCache.delete(token);
    }
    const claims = this.verifyOwnTokenUncached(token);
    if (claims) {
      if (this.verifiedCache.size >= VERIFIED_CACHE_MAX) this.verifiedCache.clear();
      const kid = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))
        .kid as string;
      this.verifiedCache.set(token, { claims, exp: claims.exp as number, kid });
    }
    return claims;
  }

  private verifyOwnTokenUncached(token: string): Record<string, unknown> | undefined {
    try {
      const d = decodeCompact(token);
      if (d.header.typ !== ACCESS_TOKEN_TYP) return undefined;
      const now = this.now();
      const key = this.keyring.publicKey(d.header.kid, now);
      if (!key) return undefined;
      verifyDecoded(d, key, ALGS);
      const c = d.payload;
      if (c.iss !== this.issuer || typeof c.exp !== 'number' || now >= c.exp || typeof c.jti !== 'string')
        return undefined;
      return c;
    } catch (e) {
      if (e instanceof AuthoritySignatureError || (e as { code?: string }).code !== undefined)
        return undefined;
      throw e;
    }
  }

  /**
   * RFC 7662 2.2 response for a token presented by the authenticated client `callerId`. RFC 7662 4: the claims
   * are told only to the client the token was issued to, or to a client registered as a resource server for
   * one of the token's audiences (`clients add --resource-server AUD`); to anyone else the token is inactive,
   * so a client cannot learn what another client's token carries or whether it is live.
   */
  introspect(token: string, callerId: string): Record<string, unknown> {
    const c = this.verifyOwnToken(token);
    if (!c) return { active: false };
    if (c.client_id !== callerId && !this.isResourceServerFor(callerId, c.aud)) return { active: false };
    if (!this.isActive(c)) return { active: false };
    // RFC 9449 6.2 / RFC 8705 3.2: a sender-constrained token introspects with its cnf
    const dpop = typeof (c.cnf as { jkt?: unknown } | undefined)?.jkt === 'string';
    const out: Record<string, unknown> = { active: true, token_type: dpop ? 'DPoP' : 'Bearer' };
    for (const k of ['scope', 'client_id', 'sub', 'aud', 'iss', 'exp', 'iat', 'jti', 'cnf'])
      if (c[k] !== undefined) out[k] = c[k];
    return out;
  }

  private isResourceServerFor(clientId: string, aud: unknown): boolean {
    const rs = this.db.getClientPolicy(clientId)?.resourceServers;
    if (!rs || rs.length === 0) return false;
    const auds = Array.isArray(aud) ? aud : [aud];
    return auds.some((x) => typeof x === 'string' && rs.includes(x));
  }

  /** Revokes a verified token of ours: its status list bit is set from the next list fetch on. */
  revoke(claims: Record<string, unknown>): boolean {
    const slot = this.slotOf(claims);
    if (!slot) return false;
    const rec = { ...slot, jti: String(claims.jti), exp: Number(claims.exp) };
    if (this.db.revoke(rec, this.now())) {
      this.listCache.delete(slot.listId);
      // a list signed in this turn shows the uncommitted revocation: it must not be served after a rollback
      this.db.onRollback(() => this.listCache.delete(slot.listId));
    }
    return true;
  }

  /**
   * Suspends one of our access tokens (draft-ietf-oauth-status-list 7.1: status 0x02, temporarily invalid):
   * the status list served next shows it, `status check` answers ERR_TOKEN_SUSPENDED and /introspect
   * `active: false` until `resume`. An operator action: the token must verify under this authority's keyring
   * (ERR_JWS_* / ERR_JWT_* / ERR_JWKS_NO_MATCHING_KEY otherwise). A revoked token stays revoked
   * (ERR_TOKEN_REVOKED); a list with 1 bit per token has no suspended state (ERR_SUSPENSION_UNSUPPORTED).
   */
  suspend(token: string): TokenStatusChange {
    const { claims, listId, idx } = this.slotOfIssuedToken(token);
    const meta = this.db.getStatusList(listId) as { bits: number };
    if (meta.bits < 2)
      throw new SuspensionUnsupportedError(
        `the token's status list ${listId} has ${meta.bits} bit per token, which has no suspended state: set statusList.bits: 2 in the authority config (tokens issued from then on can be suspended)`,
      );
    const rec = { listId, idx, jti: String(claims.jti), exp: Number(claims.exp) };
    if (this.db.suspend(rec, this.now())) {
      this.statusChanged(listId);
      return { listId, idx, status: 'suspended', changed: true };
    }
    if (this.db.statusOf(listId, idx) !== STATUS_SUSPENDED)
      throw new TokenRevokedError('the token is revoked, which is final: it cannot be suspended');
    return { listId, idx, status: 'suspended', changed: false };
  }

  /** Lifts a suspension: the token is valid again from the next list on. A revoked token is ERR_TOKEN_REVOKED. */
  resume(token: string): TokenStatusChange {
    const { listId, idx } = this.slotOfIssuedToken(token);
    if (this.db.resume(listId, idx)) {
      this.statusChanged(listId);
      return { listId, idx, status: 'valid', changed: true };
    }
    if (this.db.statusOf(listId, idx) !== STATUS_VALID)
      throw new TokenRevokedError('the token is revoked, which is final: it cannot be resumed');
    return { listId, idx, status: 'valid', changed: false };
  }

  /**
   * Verifies a token as issued by this authority for an operator action (suspend, resume) through the JOSE
   * core, so every failure has its own code. Its signature by a key of this keyring proves we issued it, so
   * its own iss names the status list prefix (an authority restarted under another issuer still knows its
   * earlier tokens); the list and slot must exist in this database.
   */
  private slotOfIssuedToken(token: string): { claims: Record<string, unknown>; listId: string; idx: number } {
    const now = this.now();
    const { payload: claims } = verifyJwt(
      token,
      (h: JwsHeader) => {
        const key = this.keyring.publicKey(h.kid, now);
        if (!key) throw new JwksNoMatchingKeyError('the token was not signed by a key of this authority');
        return key;
      },
      { algorithms: ALGS, typ: ACCESS_TOKEN_TYP, requireExp: true, requiredClaims: ['jti'], now },
    );
    const slot = typeof claims.iss === 'string' ? this.slotOf(claims, claims.iss) : undefined;
    const meta = slot && this.db.getStatusList(slot.listId);
    if (!slot || !meta || slot.idx >= meta.size)
      throw new StatusListMismatchError(
        "the token's status.status_list is not a slot of this authority's lists",
      );
    return { claims, ...slot };
  }

  /** A status of this list changed on our connection: the signed list is rebuilt, also after a rollback. */
  private statusChanged(listId: string): void {
    this.listCache.delete(listId);
    this.db.onRollback(() => this.listCache.delete(listId));
  }

  /** The signed status list token for a list (cached until a status change or half its ttl). */
  statusListToken(listId: string): string | undefined {
    const now = this.now();
    // a status changed by another process (the CLI's status suspend/resume) is served from its commit on
    const version = this.db.dataVersion();
    if (version !== this.listCacheVersion) {
      this.listCache.clear();
      this.listCacheVersion = version;
    }
    const cached = this.listCache.get(listId);
    if (cached && now < cached.exp) return cached.token;
    const meta = this.db.getStatusList(listId);
    if (!meta) return undefined;
    const list = new StatusList(meta.bits as 1 | 2, meta.size);
    // a suspension recorded in a 1-bit list cannot be shown as such (suspend refuses it): it shows as invalid
    for (const { idx, status } of this.db.statuses(listId))
      list.set(idx, status === STATUS_SUSPENDED && meta.bits >= 2 ? STATUS_SUSPENDED : STATUS_INVALID);
    const { kid, privateKey } = this.keyring.signingKey();
    const ttl = this.config.statusList.ttl;
    const token = createStatusListToken(list, {
      uri: this.statusListUri(listId),
      issuer: this.issuer,
      key: privateKey,
      kid,
      iat: now,
      // a relying party must not rely on a copy older than a day; ttl says when to refresh
      exp: now + Math.max(ttl * 2, 86400),
      ttl,
    });
    this.listCache.set(listId, { token, exp: now + Math.ceil(ttl / 2) });
    return token;
  }

  /** Picks up a keyring rotated by another process; true when the keys changed. */
  reloadKeys(): boolean {
    if (!this.keyring.reloadIfChanged()) return false;
    this.listCache.clear();
    this.verifiedCache.clear();
    return true;
  }

  rotateKeys(): string {
    // keep the old key publishable for at least the longest token lifetime and status list lifetime
    const kid = this.keyring.rotate(this.now(), Math.max(this.config.accessTokenTtl, 86400) + 60);
    this.listCache.clear();
    return kid;
  }

  close(): void {
    this.db.close();
  }
}
