import type { Clock } from '../clock.js';
import type { Keyring } from '../keys/index.js';
import type { OfftokenKey } from '../keys/types.js';
import type { CounterStore, ReplayStore } from '../stores/types.js';

/**
 * sealed = JWE dir + A*GCM (confidential); signed = JWS EdDSA (public verification); mac = JWS HS256;
 * nested = JWS EdDSA/ES256 inside a JWE ECDH-ES + A256GCM to one reader's public key (both, no shared secret).
 */
export type OfflineMode = 'sealed' | 'signed' | 'mac' | 'nested';

/** A JSON value, the only thing a token can carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** Parameters of an action: flat, with values that encode the same in every language (no floats). */
export type ActionParams = Record<string, string | number | boolean>;

/** The action a token authorises, e.g. `{ name: 'unlock-door', params: { door: 'B12' } }`. */
export interface OfflineAction {
  name: string;
  params?: ActionParams;
}

/** The claims set inside every offline token (docs/formats/offline-token.md). */
export interface OfflineTokenClaims {
  /** 128-bit CSPRNG id, base64url: the replay-store key. */
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  sub?: string;
  device?: string;
  aud?: string | string[];
  /** Monotonic per-device counter (non-negative safe integer). */
  ctr?: number;
  /**
   * The action the token authorises, with its parameters. Not RFC 8693's actor claim of the same name: the
   * explicit `typ` (offtoken+jwt) keeps offline tokens apart from token-exchange JWTs.
   */
  act?: OfflineAction;
  /** The caller's payload (what `read` returns). */
  dat?: JsonValue;
}

/** Receives issuance, key use and validation events; `AuditLog` from src/audit implements it. */
export interface AuditSink {
  record(event: string, fields: Record<string, unknown>): void;
}

export interface OfflineTokenGeneratorOptions {
  /**
   * Inferred when omitted: nested when `recipient` or `decryptionKey` is given, else from the key's `alg`
   * (A*GCM -> sealed, EdDSA -> signed, HS256 -> mac).
   */
  mode?: OfflineMode;
  /**
   * A key from src/keys: A128/192/256GCM (sealed), EdDSA (signed; public only to read), HS256 (mac); for nested
   * the issuer's EdDSA or ES256 key (private to generate, public to read).
   */
  key?: OfftokenKey;
  /** nested, generate: the reader's public ECDH-ES key (X25519 or P-256) tokens are encrypted to. */
  recipient?: OfftokenKey;
  /** nested, read: this reader's own ECDH-ES private key. */
  decryptionKey?: OfftokenKey;
  /** A keyring: new tokens use its signing key, readers accept every key it still holds (by `kid`). */
  keyring?: Keyring;
  /** Raw key bytes (>= 16) -> HKDF-SHA256, or a passphrase string -> scrypt -> HKDF (sealed and mac only). */
  secret?: string | Uint8Array;
  /** Alias of a string `secret`. */
  passphrase?: string;
  /** scrypt salt for a passphrase (>= 16 bytes). Default: the fixed positional-form salt (see derive.ts). */
  salt?: Uint8Array;
  /** AES key size for a sealed secret (default 256). */
  aesBits?: 128 | 192 | 256;
  /** Lifetime of a new token (default 300 s). */
  ttlSeconds?: number;
  /** Clock skew accepted on `nbf`/`exp`/`iat` when reading (default 0 s). */
  ttlTolerance?: number;
  /** Audience: set as `aud` on new tokens and required on read. */
  audience?: string;
  clock?: Clock;
  /** Largest token accepted by read and produced by generate (default 8192 characters). */
  maxTokenSize?: number;
  /** Prefix of the replay-store namespaces (default `offtoken:offline`). */
  namespace?: string;
  /** Where issuance and validation are recorded (never secrets or whole tokens). */
  audit?: AuditSink;
}

export interface GenerateOptions {
  sub?: string;
  device?: string;
  /** The action: a name, or `{ name, params }`. */
  act?: string | OfflineAction;
  /** Parameters when `act` is a name. */
  params?: ActionParams;
  /** Overrides the generator's audience for this token. */
  aud?: string | string[];
  ctr?: number;
  ttlSeconds?: number;
  /** Not-before (unix s); default now. */
  nbf?: number;
  /** nested: the reader this token is encrypted to (overrides the generator's `recipient`). */
  recipient?: OfftokenKey;
}

export type ConsumeStore = ReplayStore & Partial<CounterStore>;

export interface ReadOptions {
  /** Accept the token only once (jti) and, when it carries `ctr`, only with a counter above the last one. */
  consume?: ConsumeStore;
  /** Overrides the generator's audience check for this read. */
  audience?: string;
}

/** Everything `verify` learns about a token. */
export interface OfflineTokenResult<T = JsonValue> {
  payload: T | undefined;
  claims: OfflineTokenClaims;
  mode: OfflineMode;
  /** The key that signed or sealed the token (nested: the issuer's key, from the inner JWS). */
  kid: string | undefined;
}
