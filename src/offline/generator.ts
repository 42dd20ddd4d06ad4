import type { KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { withArticle } from '../errors/article.js';
import { InputTooLargeError, InvalidArgumentError, OfftokenError } from '../errors/base.js';
import {
  OfflineTokenClaimInvalidError,
  OfflineTokenMalformedError,
  OfflineTokenTooLargeError,
} from '../errors/offline.js';
import { ecdhCurveOf } from '../jose/jwe/ecdh-es.js';
import { ALGS, checkKey } from '../jose/lib/alg.js';
import { parseJsonObject } from '../jose/lib/json.js';
import type { JwsHeader } from '../jose/types.js';
import type { Keyring } from '../keys/index.js';
import type { OfftokenKey } from '../keys/types.js';
import { buildClaims, validateClaims } from './claims.js';
import { consumeToken } from './consume.js';
import { deriveOfflineKey } from './derive.js';
import {
  type EnvelopeWriter,
  makeWriter,
  NESTED_ALGS,
  type NestedAlg,
  type NestedReader,
  type NestedRecipient,
  nestedReader,
  open,
  openNested,
  type ReadKey,
  SEALED_ENCS,
  type SealedEnc,
  seal,
} from './envelope.js';
import type {
  AuditSink,
  ConsumeStore,
  GenerateOptions,
  JsonValue,
  OfflineMode,
  OfflineTokenClaims,
  OfflineTokenGeneratorOptions,
  OfflineTokenResult,
  ReadOptions,
} from './types.js';

export const DEFAULT_TTL_SECONDS = 300;
export const DEFAULT_MAX_TOKEN_SIZE = 8192;

const ENC_BY_BITS = { 128: 'A128GCM', 192: 'A192GCM', 256: 'A256GCM' } as const;
const BYTES_BY_ENC = { A128GCM: 16, A192GCM: 24, A256GCM: 32 } as const;

function modeOfAlg(alg: string): OfflineMode | undefined {
  if (SEALED_ENCS.includes(alg as SealedEnc)) return 'sealed';
  if (alg === 'EdDSA') return 'signed';
  if (alg === 'HS256') return 'mac';
  return undefined;
}

/** Which KeyObject of an OfftokenKey serves a mode, for writing or reading. */
function keyFor(k: OfftokenKey, mode: OfflineMode, write: boolean): KeyObject | undefined {
  if (mode === 'signed' || mode === 'nested') return write ? k.privateKey : k.publicKey;
  return k.secretKey;
}

function checkKeyAlg(k: OfftokenKey, mode: OfflineMode): void {
  if (mode === 'nested' ? !NESTED_ALGS.includes(k.alg as NestedAlg) : modeOfAlg(k.alg) !== mode)
    throw new InvalidArgumentError(
      mode === 'nested'
        ? `a nested token is signed with an EdDSA or ES256 key, not ${k.alg} (the reader's ECDH-ES key is recipient or decryptionKey)`
        : `${withArticle(k.alg)} key cannot be used for ${mode} tokens`,
    );
}

/** The reader's public ECDH-ES key as a nested token's recipient, checked once per key. */
const recipients = new WeakMap<OfftokenKey, NestedRecipient>();
function recipientOf(k: OfftokenKey): NestedRecipient {
  const hit = recipients.get(k);
  if (hit) return hit;
  const key = k?.publicKey;
  if (k?.alg !== 'ECDH-ES' || key === undefined || ecdhCurveOf(key) === undefined)
    throw new InvalidArgumentError(
      "a nested token's recipient is the reader's ECDH-ES (X25519 or P-256) public key",
    );
  const r = { key, kid: k.kid };
  recipients.set(k, r);
  return r;
}

// Deeper than the claims' own limit (claims.ts) on `dat`, which keeps its message; this bounds the scan.
const PAYLOAD_JSON = { maxDepth: 64, rejectDuplicates: true };

/**
 * Creates self-contained tokens and reads them on another machine with no network.
 *
 * ```ts
 * const gen = new OfflineTokenGenerator({ key: await readKeyFile('sealed.key'), ttlSeconds: 120 });
 * const token = gen.generate({ door: 'B12' }, { sub: 'alice', act: 'unlock-door' });
 * gen.read(token); // { door: 'B12' }
 * await gen.read(token, { consume: store }); // once only
 * ```
 * The positional form of the older package still works: `new OfflineTokenGenerator(password, 256, 60, 5)`.
 */
export class OfflineTokenGenerator {
  readonly mode: OfflineMode;
  readonly ttlSeconds: number;
  readonly ttlTolerance: number;
  readonly audience: string | undefined;
  readonly maxTokenSize: number;
  readonly namespace: string;
  readonly #clock: Clock;
  readonly #audit: AuditSink | undefined;
  readonly #signer: EnvelopeWriter | undefined;
  /** Writers for keyring keys, built once per key (the keyring's active key changes on rotation). */
  readonly #ringWriters = new WeakMap<OfftokenKey, EnvelopeWriter>();
  readonly #keyring: Keyring | undefined;
  readonly #readKey: ReadKey | undefined;
  readonly #recipient: NestedRecipient | undefined;
  readonly #nestedReader: NestedReader | undefined;

  constructor(options: OfflineTokenGeneratorOptions);
  constructor(secret: string | Uint8Array, aesBits?: number, ttlSeconds?: number, ttlTolerance?: number);
  constructor(
    arg: OfflineTokenGeneratorOptions | string | Uint8Array,
    aesBits?: number,
    ttlSeconds?: number,
    ttlTolerance?: number,
  ) {
    const o: OfflineTokenGeneratorOptions =
      typeof arg === 'string' || arg instanceof Uint8Array
        ? {
            mode: 'sealed',
            secret: arg,
            aesBits: (aesBits ?? 256) as 256,
            ...(ttlSeconds !== undefined && { ttlSeconds }),
            ...(ttlTolerance !== undefined && { ttlTolerance }),
          }
        : arg;
    if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('options must be an object');
    this.ttlSeconds = o.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.ttlTolerance = o.ttlTolerance ?? 0;
    if (!Number.isSafeInteger(this.ttlSeconds) || this.ttlSeconds <= 0)
      throw new InvalidArgumentError('ttlSeconds must be a positive integer');
    if (!Number.isFinite(this.ttlTolerance) || this.ttlTolerance < 0)
      throw new InvalidArgumentError('ttlTolerance must be a non-negative number');
    this.maxTokenSize = o.maxTokenSize ?? DEFAULT_MAX_TOKEN_SIZE;
    if (!Number.isSafeInteger(this.maxTokenSize) || this.maxTokenSize < 256 || this.maxTokenSize > 1 << 20)
      throw new InvalidArgumentError('maxTokenSize must be an integer from 256 to 1048576');
    this.audience = o.audience;
    this.namespace = o.namespace ?? 'offtoken:offline';
    this.#clock = o.clock ?? systemClock;
    this.#audit = o.audit;

    const sources = [o.key, o.keyring, o.secret ?? o.passphrase].filter((x) => x !== undefined).length;
    if (sources !== 1)
      throw new InvalidArgumentError('give exactly one of key, keyring, secret or passphrase');
    const nested = o.recipient !== undefined || o.decryptionKey !== undefined;
    if (nested && o.mode !== undefined && o.mode !== 'nested')
      throw new InvalidArgumentError('recipient and decryptionKey are for nested tokens');
    const inferred = nested ? 'nested' : o.mode;
    if (o.recipient !== undefined) this.#recipient = recipientOf(o.recipient);
    if (o.decryptionKey !== undefined) {
      if (o.decryptionKey.alg !== 'ECDH-ES')
        throw new InvalidArgumentError("decryptionKey is the reader's own ECDH-ES key");
      this.#nestedReader = nestedReader(o.decryptionKey.privateKey, o.decryptionKey.kid);
    }

    if (o.key !== undefined) {
      const mode = inferred ?? modeOfAlg(o.key.alg);
      if (mode === undefined)
        throw new InvalidArgumentError(`${withArticle(o.key.alg)} key cannot make offline tokens`);
      checkKeyAlg(o.key, mode);
      this.mode = mode;
      const w = keyFor(o.key, mode, true);
      const r = keyFor(o.key, mode, false);
      if (r === undefined) throw new InvalidArgumentError('the key holds no usable key material');
      if (mode !== 'sealed') {
        const alg = mode === 'signed' ? 'EdDSA' : mode === 'mac' ? 'HS256' : (o.key.alg as NestedAlg);
        checkKey(alg, ALGS[alg], r, 'verify');
      } else this.#encOf(o.key);
      this.#readKey = { key: r, kid: o.key.kid };
      if (w !== undefined) this.#signer = makeWriter(mode, w, o.key.kid, this.#encOf(o.key));
    } else if (o.keyring !== undefined) {
      const ring = o.keyring;
      let active: OfftokenKey | undefined;
      try {
        active = ring.signingKey();
      } catch {
        active = undefined; // a verify-only keyring: it can still read
      }
      const mode = inferred ?? (active ? modeOfAlg(active.alg) : undefined);
      if (mode === undefined)
        throw new InvalidArgumentError('give mode: the keyring has no signing key to infer it from');
      this.mode = mode;
      this.#keyring = ring;
      // The keyring selects by kid and alg (a JWE's alg "dir" matches a key whose alg is the header's enc).
      this.#readKey = (h: JwsHeader) => ring.resolve(h);
    } else {
      const mode = inferred ?? 'sealed';
      if (mode === 'signed' || mode === 'nested')
        throw new InvalidArgumentError(`${mode} mode needs key pairs, not a shared secret`);
      this.mode = mode;
      const bits = o.aesBits ?? 256;
      if (mode === 'sealed' && !(bits in ENC_BY_BITS))
        throw new InvalidArgumentError('aesBits must be 128, 192 or 256');
      const key = deriveOfflineKey((o.secret ?? o.passphrase)!, {
        mode,
        bits,
        ...(o.salt !== undefined && { salt: o.salt }),
      });
      // No kid: a kid derived from the secret would fingerprint a password across deployments.
      this.#readKey = { key, kid: undefined };
      this.#signer = makeWriter(mode, key, undefined, ENC_BY_BITS[bits]);
    }
  }

  #encOf(k: OfftokenKey): SealedEnc {
    if (this.mode !== 'sealed') return 'A256GCM';
    const enc = k.alg as SealedEnc;
    const len = k.secretKey?.symmetricKeySize;
    if (len !== BYTES_BY_ENC[enc])
      throw new InvalidArgumentError(`the ${enc} key must be ${BYTES_BY_ENC[enc]} bytes`);
    return enc;
  }

  #currentSigner(): EnvelopeWriter {
    if (this.#signer) return this.#signer;
    if (this.#keyring) {
      const k = this.#keyring.signingKey();
      const cached = this.#ringWriters.get(k);
      if (cached) return cached;
      checkKeyAlg(k, this.mode);
      const w = keyFor(k, this.mode, true);
      if (w !== undefined) {
        const writer = makeWriter(this.mode, w, k.kid, this.#encOf(k));
        this.#ringWriters.set(k, writer);
        return writer;
      }
    }
    throw new InvalidArgumentError(
      this.mode === 'signed' || this.mode === 'nested'
        ? `this generator has only a public key: it can read ${this.mode} tokens but not create them`
        : 'this generator has no key to create tokens with',
    );
  }

  /** Creates a token carrying `payload` (any JSON value, returned by `read`) and the claims in `options`. */
  generate(payload?: JsonValue, options: GenerateOptions = {}): string {
    return this.issue(payload, options).token;
  }

  /** `generate`, also returning the claims it wrote (jti, exp) for records such as a provisioning batch. */
  issue(payload?: JsonValue, options: GenerateOptions = {}): { token: string; claims: OfflineTokenClaims } {
    const signer = this.#currentSigner();
    const claims = buildClaims(payload, options, Math.floor(this.#clock()), this.ttlSeconds, this.audience);
    let json: string;
    try {
      json = JSON.stringify(claims);
    } catch {
      throw new InvalidArgumentError('the payload is not serialisable as JSON');
    }
    if (json.length > this.maxTokenSize)
      throw new OfflineTokenTooLargeError(`the claims exceed the ${this.maxTokenSize}-character token limit`);
    let recipient: NestedRecipient | undefined;
    if (this.mode === 'nested') {
      recipient = options.recipient !== undefined ? recipientOf(options.recipient) : this.#recipient;
      if (recipient === undefined)
        throw new InvalidArgumentError("a nested token needs a recipient: the reader's public ECDH-ES key");
    } else if (options.recipient !== undefined)
      throw new InvalidArgumentError('recipient is for nested tokens');
    const token = seal(json, signer, recipient);
    if (token.length > this.maxTokenSize)
      throw new OfflineTokenTooLargeError(
        `the token would exceed ${this.maxTokenSize} characters; carry less data`,
      );
    this.#audit?.record('token.issue', {
      mode: this.mode,
      kid: signer.kid,
      ...(recipient !== undefined && { to: recipient.kid }),
      jti: claims.jti,
      sub: claims.sub,
      device: claims.device,
      action: claims.act?.name,
      exp: claims.exp,
    });
    return { token, claims };
  }

  /** Verifies (or decrypts) and checks the claims; returns everything learnt. Does not consume. */
  verify<T = JsonValue>(token: string, options: Omit<ReadOptions, 'consume'> = {}): OfflineTokenResult<T> {
    let claims: OfflineTokenClaims | undefined;
    let kid: string | undefined;
    try {
      if (typeof token !== 'string') throw new InvalidArgumentError('the token must be a string');
      if (token.length > this.maxTokenSize)
        throw new OfflineTokenTooLargeError(`the token exceeds ${this.maxTokenSize} characters`);
      const readKey = this.#readKey;
      if (readKey === undefined)
        throw new InvalidArgumentError('this generator has no key to read tokens with');
      let opened: ReturnType<typeof open>;
      if (this.mode === 'nested') {
        if (this.#nestedReader === undefined)
          throw new InvalidArgumentError(
            "reading nested tokens needs decryptionKey: the reader's own ECDH-ES key",
          );
        opened = openNested(token, this.#nestedReader, readKey);
      } else opened = open(token, this.mode, readKey);
      kid = opened.kid;
      let raw: Record<string, unknown>;
      try {
        raw = parseJsonObject(
          opened.payload.toString('utf8'),
          PAYLOAD_JSON,
          (reason) => new OfflineTokenClaimInvalidError(`the token payload ${reason}`),
          // a repeated claim name is refused like a repeated header name (RFC 7519 4, strict reading)
          (reason) => new OfflineTokenMalformedError(`the token payload ${reason}`),
        );
      } catch (e) {
        if (e instanceof InputTooLargeError)
          throw new OfflineTokenClaimInvalidError('the token payload is nested too deeply');
        throw e;
      }
      claims = validateClaims(raw, {
        now: this.#clock(),
        tolerance: this.ttlTolerance,
        audience: options.audience ?? this.audience,
      });
    } catch (e) {
      this.#reject(e, claims ?? undefined, kid);
      throw e;
    }
    return { payload: claims.dat as T | undefined, claims, mode: this.mode, kid };
  }

  #reject(e: unknown, claims: OfflineTokenClaims | undefined, kid: string | undefined): void {
    if (!this.#audit) return;
    this.#audit.record('token.reject', {
      mode: this.mode,
      code: e instanceof OfftokenError ? e.code : 'ERR_INTERNAL',
      kid,
      jti: claims?.jti,
      sub: claims?.sub,
      device: claims?.device,
    });
  }

  #accept(r: OfflineTokenResult<unknown>): void {
    this.#audit?.record('token.accept', {
      mode: this.mode,
      kid: r.kid,
      jti: r.claims.jti,
      sub: r.claims.sub,
      device: r.claims.device,
      action: r.claims.act?.name,
      ctr: r.claims.ctr,
    });
  }

  /** `verify`, then (with `consume`) the one-time-use and counter checks against the store. */
  async verifyAndConsume<T = JsonValue>(token: string, options: ReadOptions): Promise<OfflineTokenResult<T>> {
    const r = this.verify<T>(token, options);
    if (options.consume) await this.consume(r, options.consume);
    else this.#accept(r);
    return r;
  }

  /** The one-time-use and counter checks for a result of `verify` (split out so a caller can check scope first). */
  async consume(r: OfflineTokenResult<unknown>, store: ConsumeStore): Promise<void> {
    try {
      await consumeToken(store, this.namespace, r.claims, this.ttlTolerance);
    } catch (e) {
      this.#reject(e, r.claims, r.kid);
      throw e;
    }
    this.#accept(r);
  }

  /**
   * Returns the payload of a valid token. Synchronous without `consume` (as in the older package);
   * with `consume` it returns a promise and accepts each token once.
   */
  read<T = JsonValue>(
    token: string,
    options: ReadOptions & { consume: ConsumeStore },
  ): Promise<T | undefined>;
  read<T = JsonValue>(token: string, options?: ReadOptions & { consume?: undefined }): T | undefined;
  read<T = JsonValue>(token: string, options?: ReadOptions): T | undefined | Promise<T | undefined>;
  read<T = JsonValue>(token: string, options: ReadOptions = {}): T | undefined | Promise<T | undefined> {
    if (options.consume) return this.verifyAndConsume<T>(token, options).then((r) => r.payload);
    const r = this.verify<T>(token, options);
    this.#accept(r);
    return r.payload;
  }
}
