import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signJwt } from '../../src/jose/jwt/sign.js';
import { verifyJwtAsync } from '../../src/jose/jwt/verify.js';
import type { JwtPolicy } from '../../src/jose/types.js';
import { buildJwks, generateKey } from '../../src/keys/jwk.js';
import { LocalJwks } from '../../src/keys/local_jwks.js';
import { RemoteJwks } from '../../src/keys/remote_jwks.js';
import type { OfftokenKey } from '../../src/keys/types.js';
import type { BenchCase, BenchSuite } from '../harness.js';

/*
 * verifyJwtAsync (EdDSA) with a cached RemoteJwks while its server takes 2 s per response and rotates keys
 * on every response, beside the same verify with a local key set. Target: p99 within 1.5x of the local one.
 *
 * The server publishes {k(e-1), k(e), k(e+1)} in its e-th response (the next key announced ahead, as a
 * Keyring does); tokens are signed with k(e-1) for the last response sent, so every kid is one the client
 * has already fetched. The set's lifetime is 2 s (min age 1 s): a background refresh starts every 1.5 s
 * and takes 2 s, so the set is stale about half the time and is served stale while the refresh runs.
 * Both verifies run interleaved in batches over one window; each one is timed; the window is at least
 * 10 s (4 s with --quick) so the remote set turns over several times. p50/p99 go to stderr; the table
 * shows verifies per second.
 */
const DELAY_MS = 2000;
const BATCH = 64;
const ROTATIONS = 64;
let server: Server | undefined;
let quick = false;
const pending = new Set<NodeJS.Timeout>();
let localRate = 0;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

export const suite: BenchSuite = {
  name: 'jwks',
  async setup(opts): Promise<BenchCase[]> {
    quick = opts?.quick ?? false;
    const keys: OfftokenKey[] = Array.from({ length: ROTATIONS + 2 }, () => generateKey('EdDSA'));
    const now = Math.floor(Date.now() / 1000);
    const tokens = keys.map((k) =>
      signJwt(
        { sub: 'user-7f3a9c', iss: 'https://issuer.example', iat: now, exp: now + 3600 },
        k.privateKey!,
        {
          alg: 'EdDSA',
          kid: k.kid,
        },
      ),
    );
    let epoch = 1;
    server = createServer((_req, res) => {
      const t = setTimeout(() => {
        pending.delete(t);
        const e = Math.min(epoch, ROTATIONS);
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=2' });
        res.end(JSON.stringify(buildJwks(keys.slice(e - 1, e + 2))));
        epoch++;
      }, DELAY_MS);
      pending.add(t);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const remote = new RemoteJwks(url, {
      maxAgeSeconds: 2,
      minAgeSeconds: 1,
      cooldownSeconds: 0.5,
      staleIfErrorSeconds: 60,
      timeoutMs: 5000,
    });
    await remote.keys();
    const local = new LocalJwks(buildJwks(keys));
    const localResolve = async (h: { kid?: string; alg?: string }) => local.resolve(h);
    const policy: JwtPolicy = { algorithms: ['EdDSA'], issuer: 'https://issuer.example' };
    const current = () => tokens[Math.max(0, Math.min(epoch, ROTATIONS) - 2)]!;

    const measureBoth = async (ms: number) => {
      const windowMs = Math.max(ms, quick ? 4000 : 10_000);
      const r: number[] = [];
      const l: number[] = [];
      const kids = new Set<string>();
      const fetchesBefore = remote.fetchCount;
      const end = process.hrtime.bigint() + BigInt(windowMs) * 1_000_000n;
      let remoteNs = 0n;
      let localNs = 0n;
      while (process.hrtime.bigint() < end) {
        const tok = current();
        for (let i = 0; i < BATCH; i++) {
          const t0 = process.hrtime.bigint();
          const v = await verifyJwtAsync(tok, remote.resolve, policy);
          const d = process.hrtime.bigint() - t0;
          remoteNs += d;
          r.push(Number(d));
          if (i === 0) kids.add(v.header.kid as string);
        }
        for (let i = 0; i < BATCH; i++) {
          const t0 = process.hrtime.bigint();
          await verifyJwtAsync(tok, localResolve, policy);
          const d = process.hrtime.bigint() - t0;
          localNs += d;
          l.push(Number(d));
        }
        // let the server's timers and the background refresh run, as they would between requests
        await new Promise((res) => setImmediate(res));
      }
      const rs = Float64Array.from(r).sort();
      const ls = Float64Array.from(l).sort();
      const us = (ns: number) => (ns / 1000).toFixed(1);
      const p99r = percentile(rs, 0.99);
      const p99l = percentile(ls, 0.99);
      console.error(
        `  jwks: verifyJwtAsync EdDSA p50/p99 (us): cached RemoteJwks ${us(percentile(rs, 0.5))}/${us(p99r)}, ` +
          `local key set ${us(percentile(ls, 0.5))}/${us(p99l)}; p99 ratio ${(p99r / p99l).toFixed(2)} ` +
          `(target <= 1.5); ${r.length} verifies each over ${(windowMs / 1000).toFixed(1)} s, ` +
          `${remote.fetchCount - fetchesBefore} background fetches (2 s each), ${kids.size} signing kids`,
      );
      localRate = l.length / (Number(localNs) / 1e9);
      return r.length / (Number(remoteNs) / 1e9);
    };

    return [
      {
        case: 'jwt verify EdDSA, rotating JWKS (2 s server)',
        impl: 'offtoken (cached RemoteJwks)',
        measure: measureBoth,
      },
      // measured in the same interleaved window as the row above (which runs first)
      {
        case: 'jwt verify EdDSA, rotating JWKS (2 s server)',
        impl: 'offtoken (local key set)',
        measure: async () => localRate,
      },
    ];
  },
  async teardown() {
    for (const t of pending) clearTimeout(t);
    pending.clear();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  },
};
