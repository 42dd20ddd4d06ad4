import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import {
  existsSync,
  linkSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { encodeBase64url } from '../encoding/base64url.js';
import { KeyfileInvalidError } from '../errors/keys.js';
import { KeyringLockedError, ServerConfigError } from '../errors/server.js';
import { privateJwkMatchesPublic } from '../keys/jwk.js';
import type { Jwk } from '../keys/types.js';
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
  private retired: string | undefined;

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
      let privateKey: KeyObject | undefined;
      try {
        privateKey = createPrivateKey({ key: k.jwk as never, format: 'jwk' });
      } catch {
        // newer OpenSSL (Node 24) refuses a private JWK whose members disagree when it is imported
      }
      // The JWKS publishes the stored public members: a damaged private part would sign tokens nobody verifies.
      if (privateKey === undefined || !privateJwkMatchesPublic(k.jwk as Jwk, privateKey))
        throw new KeyfileInvalidError(
          `keyring key ${String(k.kid).slice(0, 64)} is damaged: its private key does not derive its stored public key`,
        );
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
    this.adopt(AuthorityKeyring.openOrCreate(this.file, this.alg, 0));
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
  rotate(
    now: number,
    overlapSeconds: number,
    alg?: AuthorityAlg,
    opts: { lockWaitMs?: number } = {},
  ): string {
    if (!this.file) return this.rotateLoaded(now, overlapSeconds, alg);
    // Two rotations at once (two CLIs, or the CLI and a server) each read the file, add a key and rename their
    // copy over it: the second rename drops the first one's key. Under the lock, the file is re-read, so each
    // rotation starts from the keys the previous one wrote.
    const release = lockFile(this.file, opts.lockWaitMs ?? LOCK_WAIT_MS);
    try {
      this.adopt(AuthorityKeyring.openExisting(this.file));
      return this.rotateLoaded(now, overlapSeconds, alg);
    } finally {
      release();
    }
  }

  /** The key that was active before the last `rotate()` (verify-only since). */
  get retiredKeyId(): string | undefined {
    return this.retired;
  }

  private adopt(fresh: AuthorityKeyring): void {
    this.keys = fresh.keys;
    this.activeKid = fresh.activeKid;
    this.byKid = fresh.byKid;
    this.jwksCache = undefined;
    this.fileStamp = fresh.fileStamp;
  }

  private rotateLoaded(now: number, overlapSeconds: number, alg?: AuthorityAlg): string {
    const old = this.byKid.get(this.activeKid)!;
    this.retired = old.kid;
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

/** How long a rotation waits for another one to finish before giving up (ERR_KEYRING_LOCKED). */
const LOCK_WAIT_MS = 10_000;
/** A rotation holds the lock for milliseconds: one older than this was left by a process that hung or crashed. */
const LOCK_STALE_MS = 30_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<file>.lock` (created with O_EXCL, holding "pid token") and returns its release. Waits up to
 * LOCK_WAIT_MS for another holder; a lock whose process is dead, or older than LOCK_STALE_MS, is broken.
 */
function lockFile(file: string, waitMs: number): () => void {
  const lockPath = `${file}.lock`;
  const token = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(lockPath, token, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === token) unlinkSync(lockPath);
        } catch {
          // already gone (broken as stale by another process): nothing to release
        }
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new ServerConfigError(`cannot create the keyring lock ${lockPath}: ${code}`);
    }
    breakIfStale(lockPath);
    if (Date.now() >= deadline)
      throw new KeyringLockedError(
        `the keyring is locked by another rotation (${lockPath}) for over ${waitMs / 1000} s; remove that file if no rotation is running`,
      );
    sleepSync(5 + Math.floor(Math.random() * 20));
  }
}

function breakIfStale(lockPath: string): void {
  let text: string;
  let st: Stats;
  try {
    st = statSync(lockPath);
    text = readFileSync(lockPath, 'utf8');
  } catch {
    return; // released meanwhile: try again
  }
  // An empty lock is one being written right now: only its age can make it stale.
  const pid = Number.parseInt(text, 10);
  const dead = Number.isSafeInteger(pid) && pid > 0 && !processAlive(pid);
  if (!dead && Date.now() - st.mtimeMs < LOCK_STALE_MS) return;
  // Moved aside atomically, then checked: another waiter may have broken the same stale lock and taken a fresh
  // one in between, and a fresh lock moved by mistake is put back (link fails if yet another holder exists).
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return;
  }
  try {
    if (readFileSync(aside, 'utf8') !== text) linkSync(aside, lockPath);
  } catch {
    // the fresh holder's lock could not be restored because a newer one exists: that one holds now
  } finally {
    rmSync(aside, { force: true });
  }
}

function stamp(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export { algForKey };
