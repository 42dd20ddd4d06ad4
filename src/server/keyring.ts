import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, renameSync, type Stats, statSync, writeFileSync } from 'node:fs';
import { encodeBase64url } from '../encoding/base64url.js';
import { ServerConfigError } from '../errors/server.js';
import { type AuthorityAlg, algForKey } from '../status-list/jws.js';

interface StoredKey {
  kid: string;
  alg: AuthorityAlg;
  /** Private JWK. */
  jwk: Record<string, unknown>;
  createdAt: number;
  /** After this the key no longer verifies (it is dropped from the JWKS). */
  exp?: number;
}

interface KeyringFile {
  version: 1;
  active: string;
  keys: StoredKey[];
}

interface LoadedKey extends StoredKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

/** RFC 7638 thumbprint of a public OKP/EC JWK: the default kid. */
function thumbprint(jwk: Record<string, unknown>): string {
  const members =
    jwk.kty === 'OKP'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return encodeBase64url(createHash('sha256').update(JSON.stringify(members)).digest());
}

function generate(alg: AuthorityAlg, now: number): StoredKey {
  const { privateKey } =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const { d: _d, ...pub } = jwk;
  return { kid: thumbprint(pub), alg, jwk, createdAt: now };
}

/**
 * The authority's signing keyring, one file (mode 0600, atomic rename): one active signing key plus
 * verify-only keys that stay in the JWKS until `exp`, so tokens signed before a rotation keep verifying.
 * (Written to stand alone while src/keys was being built; the file format is documented in docs/service.md.)
 */
export class AuthorityKeyring {
  private keys: LoadedKey[] = [];
  private activeKid = '';
  private byKid = new Map<string, LoadedKey>();
  private jwksCache: { keys: Record<string, unknown>[] } | undefined;
  /** Identity of the file last read or written: a change means another process (the CLI) rotated. */
  private fileStamp = '';

  private constructor(
    private readonly file: string | undefined,
    private readonly alg: AuthorityAlg,
  ) {}

  /** Opens an existing keyring file (the CLI reading the server's keys); never creates one. */
  static openExisting(file: string): AuthorityKeyring {
    if (!existsSync(file))
      throw new ServerConfigError(`no authority keyring at ${file}: run offtoken serve once`);
    return AuthorityKeyring.openOrCreate(file, 'EdDSA', 0);
  }

  static openOrCreate(file: string | undefined, alg: AuthorityAlg, now: number): AuthorityKeyring {
    const ring = new AuthorityKeyring(file, alg);
    if (file && existsSync(file)) {
      const mode = statSync(file).mode & 0o077;
      if (mode !== 0)
        throw new ServerConfigError(`keyring ${file} is readable by group or others: chmod 600 it`);
      let parsed: KeyringFile;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyringFile;
      } catch {
        throw new ServerConfigError(`keyring ${file} is not valid JSON`);
      }
      if (parsed.version !== 1 || !Array.isArray(parsed.keys))
        throw new ServerConfigError('unknown keyring format');
      ring.load(parsed);
      ring.fileStamp = stamp(statSync(file));
    } else {
      const k = generate(alg, now);
      ring.load({ version: 1, active: k.kid, keys: [k] });
      ring.save();
    }
    return ring;
  }

  private load(f: KeyringFile): void {
    this.keys = f.keys.map((k) => {
      const privateKey = createPrivateKey({ key: k.jwk as never, format: 'jwk' });
      const publicKey = createPublicKey(privateKey);
      const { d: _d, ...pub } = k.jwk;
      return { ...k, privateKey, publicKey, publicJwk: { ...pub, kid: k.kid, alg: k.alg, use: 'sig' } };
    });
    this.activeKid = f.active;
    this.byKid = new Map(this.keys.map((k) => [k.kid, k]));
    if (!this.byKid.has(f.active)) throw new ServerConfigError('keyring active key is missing');
    this.jwksCache = undefined;
  }

  private save(): void {
    if (!this.file) return;
    const data: KeyringFile = {
      version: 1,
      active: this.activeKid,
      keys: this.keys.map(({ kid, alg, jwk, createdAt, exp }) => ({
        kid,
        alg,
        jwk,
        createdAt,
        ...(exp !== undefined ? { exp } : {}),
      })),
    };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
    this.fileStamp = stamp(statSync(this.file));
  }

  /**
   * Re-reads the file when another process replaced it (`offtoken keys rotate` writes a new file and
   * renames it over the old one, so a reader sees the old or the new keyring, never half of one). Returns
   * true when the keys changed. A file that cannot be read keeps the keys in memory (the caller logs it).
   */
  reloadIfChanged(): boolean {
    if (!this.file) return false;
    let st: Stats;
    try {
      st = statSync(this.file);
    } catch {
      throw new ServerConfigError(`keyring ${this.file} disappeared`);
    }
    if (stamp(st) === this.fileStamp) return false;
    const fresh = AuthorityKeyring.openOrCreate(this.file, this.alg, 0);
    this.keys = fresh.keys;
    this.activeKid = fresh.activeKid;
    this.byKid = fresh.byKid;
    this.jwksCache = undefined;
    this.fileStamp = fresh.fileStamp;
    return true;
  }

  get activeKeyId(): string {
    return this.activeKid;
  }

  signingKey(): { kid: string; privateKey: KeyObject } {
    const k = this.byKid.get(this.activeKid)!;
    return { kid: k.kid, privateKey: k.privateKey };
  }

  /** Public key for a kid, or undefined when unknown or past its verify-only window. */
  publicKey(kid: string | undefined, now: number): KeyObject | undefined {
    if (kid === undefined) return undefined;
    const k = this.byKid.get(kid);
    if (!k || (k.exp !== undefined && now >= k.exp)) return undefined;
    return k.publicKey;
  }

  /** RFC 7517 JWKS of the active and verify-only keys. */
  jwks(now: number): { keys: Record<string, unknown>[] } {
    if (this.jwksCache && !this.keys.some((k) => k.exp !== undefined && now >= k.exp)) return this.jwksCache;
    this.jwksCache = {
      keys: this.keys.filter((k) => k.exp === undefined || now < k.exp).map((k) => k.publicJwk),
    };
    return this.jwksCache;
  }

  /**
   * Makes a fresh key active; the old active key becomes verify-only for `overlapSeconds` (at least the longest
   * token lifetime), so nothing it signed stops verifying before it expires.
   */
  rotate(now: number, overlapSeconds: number, alg?: AuthorityAlg): string {
    const old = this.byKid.get(this.activeKid)!;
    old.exp = now + overlapSeconds;
    // drop keys whose verify-only window has passed
    const kept = this.keys.filter((k) => k.exp === undefined || now < k.exp);
    // the algorithm of the keyring (or the one asked for), not of whoever opens it (the CLI has no config)
    const fresh = generate(alg ?? old.alg, now);
    this.load({
      version: 1,
      active: fresh.kid,
      keys: [...kept.map(({ kid, alg, jwk, createdAt, exp }) => ({ kid, alg, jwk, createdAt, exp })), fresh],
    });
    this.save();
    return fresh.kid;
  }
}

function stamp(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export { algForKey };
