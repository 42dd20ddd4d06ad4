import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { normaliseClientJwk, registerClient } from '../../src/server/clients.js';
import { resolveConfig } from '../../src/server/config.js';
import { signCompact } from '../../src/status-list/jws.js';
import type { BenchCase, BenchSuite } from '../harness.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CAT = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Every request needs a fresh jti, so assertions are minted before the clock starts. */
// --quick: fewer pre-minted bodies and one timed second, so the whole quick run stays under a minute.
let PREMINT = 60_000;

let servers: FastifyInstance[] = [];
let dataDir = '';

// The load generator runs in a second process so it does not share the server's event loop (a loopback
// client in the same thread would halve what it measures). Each run first loads the target for WARM_S
// seconds (JIT of the server and of the loader, connection set-up: a cold one-second run measures mostly
// warm-up), then for the timed seconds; bodies continue across both, so no assertion is sent twice.
const WARM_S = 1;
let MIN_TIMED_S = 2;
const LOADER = `
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
const [url, file, warm, seconds] = process.argv.slice(1);
const bodies = JSON.parse(readFileSync(file, 'utf8'));
let i = 0;
const run = (duration) => autocannon({ url, connections: 16, pipelining: 1, duration, requests: [{
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }] });
await run(Number(warm));
const r = await run(Number(seconds));
process.stdout.write(JSON.stringify({ ok: r['2xx'], non2xx: r.non2xx, duration: r.duration, used: i, n: bodies.length }));
`;

/** Loads `bodies` (one per request unless `reuse`) for about `ms` and returns 2xx responses per second. */
async function load(url: string, bodies: string[], ms: number, reuse = false): Promise<number> {
  const file = path.join(dataDir, `bodies-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(bodies));
  const seconds = String(Math.max(MIN_TIMED_S, Math.round(ms / 1000)));
  const cpu0 = process.cpuUsage();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', LOADER, url, file, String(WARM_S), seconds],
      {
        cwd: path.resolve(import.meta.dirname, '../..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (c) => (c === 0 ? resolve(text) : reject(new Error(`load generator exited ${c}`))));
  });
  const r = JSON.parse(out) as { ok: number; non2xx: number; duration: number; used: number; n: number };
  // a replayed assertion would be refused (non-2xx) and not counted: say so rather than under-report silently
  if (!reuse && r.used > r.n)
    process.stderr.write(`server bench: ${url} needed ${r.used} bodies, ${r.n} were pre-minted\n`);
  if (r.non2xx > 0) process.stderr.write(`server bench: ${url} answered ${r.non2xx} non-2xx responses\n`);
  // the server runs in this process: its CPU per request is the figure a busy machine distorts least
  // (req/s above also depends on how much CPU the load generator and everything else get)
  const cpu = process.cpuUsage(cpu0);
  const perReq = (cpu.user + cpu.system) / Math.max(1, r.used);
  process.stderr.write(
    `server bench: ${new URL(url).pathname} server CPU ${perReq.toFixed(0)} us/request (${Math.round(1e6 / perReq)} req/s per core)\n`,
  );
  return r.ok / (r.duration || 1);
}

/**
 * The authority over loopback HTTP (autocannon in a second process, 16 connections), beside its two limits: a bare
 * Fastify route with the same form parsing, and raw node:crypto doing the grant's one verify + one sign.
 */
export const suite: BenchSuite = {
  name: 'server',
  async setup(opts): Promise<BenchCase[]> {
    if (opts?.quick) {
      PREMINT = 8_000;
      MIN_TIMED_S = 1;
    }
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-bench-'));
    const app = await buildServer(resolveConfig({ dataDir, port: 0, logLevel: 'silent' }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push(app);
    const tokenUrl = `${base}/token`;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = normaliseClientJwk(publicKey.export({ format: 'jwk' }));
    registerClient(app.authority.db, 'bench', [jwk], Math.floor(Date.now() / 1000), {
      audiences: [app.authority.issuer],
    });
    const mint = (aud: string) => {
      const now = Math.floor(Date.now() / 1000);
      return signCompact(
        { kid: jwk.kid as string },
        {
          iss: 'bench',
          sub: 'bench',
          aud,
          iat: now,
          exp: now + 290,
          jti: randomBytes(12).toString('base64url'),
        },
        privateKey,
      );
    };
    const grantBodies: string[] = [];
    for (let i = 0; i < PREMINT; i++)
      grantBodies.push(new URLSearchParams({ grant_type: JWT_BEARER, assertion: mint(tokenUrl) }).toString());
    const access = app.authority.issue({ clientId: 'bench', sub: 'bench', aud: app.authority.issuer }).token;
    const introspectBodies: string[] = [];
    for (let i = 0; i < PREMINT; i++)
      introspectBodies.push(
        new URLSearchParams({
          token: access,
          client_assertion_type: CAT,
          client_assertion: mint(`${base}/introspect`),
        }).toString(),
      );

    const bare = Fastify({ logger: false });
    await bare.register(formbody);
    bare.post('/', async (req) => ({ ok: typeof (req.body as { token?: string }).token === 'string' }));
    const bareBase = await bare.listen({ port: 0, host: '127.0.0.1' });
    servers.push(bare);

    // the grant's cryptography alone: verify one Ed25519 assertion, sign one Ed25519 token
    const sample = mint(tokenUrl);
    const dot = sample.lastIndexOf('.');
    const input = Buffer.from(sample.slice(0, dot));
    const sig = Buffer.from(sample.slice(dot + 1), 'base64url');
    const serverKey = app.authority.keyring.signingKey().privateKey;
    const claims = Buffer.from(JSON.stringify({ iss: base, sub: 'bench', exp: 1, jti: 'x' }));
    let at = 0;
    let gi = 0;
    return [
      {
        case: 'http jwt-bearer grant',
        impl: 'offtoken',
        measure: (ms) =>
          load(tokenUrl, grantBodies.slice(gi), ms).finally(() => {
            gi = grantBodies.length;
          }),
      },
      {
        case: 'http jwt-bearer grant',
        impl: 'node:crypto',
        fn: () => {
          if (!verify(null, input, publicKey, sig)) throw new Error('verify');
          return sign(null, claims, serverKey);
        },
      },
      {
        case: 'http introspection',
        impl: 'offtoken',
        measure: (ms) =>
          load(`${base}/introspect`, introspectBodies.slice(at), ms).finally(() => {
            at = introspectBodies.length;
          }),
      },
      {
        case: 'http introspection',
        impl: 'limit: bare fastify',
        measure: (ms) => load(`${bareBase}/`, [new URLSearchParams({ token: access }).toString()], ms, true),
      },
    ];
  },
  async teardown(): Promise<void> {
    for (const s of servers) await s.close();
    servers = [];
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  },
};
