import assert from 'node:assert/strict';
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  createIntermediary,
  DownscopedTokenDeriver,
  DownscopedTokenVerifier,
  deriveDownscopedToken,
  verifyDownscopedToken,
} from '../../src/downscope/index.js';
import { sealDir } from '../../src/downscope/jwe.js';

const as = generateKeyPairSync('ed25519');
const rsKey = createSecretKey(randomBytes(32));
const T = 1_800_000_000;
const clock = () => T;
const grant = [
  { resource_prefix: 'bucket/acme/', permissions: ['read', 'write'] },
  { resource_prefix: 'bucket/shared/', permissions: ['read'] },
];
const inter = createIntermediary({
  iss: 'https://as.test',
  sub: 'alice',
  grant,
  exp: T + 3600,
  signingKey: as.privateKey,
  kid: 'as-1',
  rsKey,
  rsKid: 'rs-1',
  clock,
});
const vopts = {
  intermediaryVerifier: as.publicKey,
  rsKey: (kid: string) => (kid === 'rs-1' ? rsKey : undefined),
  issuer: 'https://as.test',
  clock,
};

function code(fn: () => unknown, c: string) {
  assert.throws(fn, (e: { code?: string }) => {
    assert.equal(e.code, c);
    return true;
  });
}

describe('downscoped tokens', () => {
  it('derives offline and enforces the boundary at the resource server', () => {
    const t = deriveDownscopedToken(
      inter.token,
      inter.sessionKey,
      [{ resource_prefix: 'bucket/acme/reports/', permissions: ['read'] }],
      { clock },
    );
    const r = verifyDownscopedToken(t, {
      ...vopts,
      resource: 'bucket/acme/reports/q3.csv',
      permission: 'read',
    });
    assert.equal(r.sub, 'alice');
    assert.equal(r.exp, T + 3600);
    code(
      () =>
        verifyDownscopedToken(t, { ...vopts, resource: 'bucket/acme/reports/q3.csv', permission: 'write' }),
      'ERR_DOWNSCOPE_DENIED',
    );
    code(
      () => verifyDownscopedToken(t, { ...vopts, resource: 'bucket/acme/private/x', permission: 'read' }),
      'ERR_DOWNSCOPE_DENIED',
    );
  });
  it('uses a fresh nonce per token', () => {
    const d = new DownscopedTokenDeriver(inter.token, inter.sessionKey, { clock });
    const rules = [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }];
    const a = d.derive(rules).split('~')[1]!.split('.')[2];
    const b = d.derive(rules).split('~')[1]!.split('.')[2];
    assert.notEqual(a, b);
  });
  it('evaluates a CEL availability condition', () => {
    const d = new DownscopedTokenDeriver(inter.token, inter.sessionKey, { clock });
    const t = d.derive([
      {
        resource_prefix: 'bucket/acme/',
        permissions: ['read'],
        condition: "resource.endsWith('.csv') && now < 1800000100.0",
      },
    ]);
    verifyDownscopedToken(t, { ...vopts, resource: 'bucket/acme/a.csv', permission: 'read' });
    code(
      () => verifyDownscopedToken(t, { ...vopts, resource: 'bucket/acme/a.pdf', permission: 'read' }),
      'ERR_DOWNSCOPE_DENIED',
    );
    code(
      () =>
        verifyDownscopedToken(t, {
          ...vopts,
          clock: () => T + 200,
          resource: 'bucket/acme/a.csv',
          permission: 'read',
        }),
      'ERR_DOWNSCOPE_DENIED',
    );
    const broken = d.derive([
      { resource_prefix: 'bucket/acme/', permissions: ['read'], condition: 'nosuchvar == 1' },
    ]);
    code(
      () => verifyDownscopedToken(broken, { ...vopts, resource: 'bucket/acme/a.csv', permission: 'read' }),
      'ERR_DOWNSCOPE_DENIED',
    );
  });
  it('refuses a holder-written condition of 7 nested map() calls with ERR_CEL_COST_EXCEEDED', () => {
    const d = new DownscopedTokenDeriver(inter.token, inter.sessionKey, { clock });
    const L = '[0,1,2,3,4,5,6,7,8,9]';
    let cond = 'true';
    for (let i = 0; i < 7; i++) cond = `${L}.map(v${i}, ${cond}).size() > 0`;
    const t = d.derive([{ resource_prefix: 'bucket/acme/', permissions: ['read'], condition: cond }]);
    code(
      () => verifyDownscopedToken(t, { ...vopts, resource: 'bucket/acme/a.csv', permission: 'read' }),
      'ERR_CEL_COST_EXCEEDED',
    );
    // within the nesting limit, the ranges' product is charged before it runs
    const L24 = `[${Array.from({ length: 24 }, (_, i) => i).join(',')}]`;
    const wide = d.derive([
      {
        resource_prefix: 'bucket/acme/',
        permissions: ['read'],
        condition: `${L24}.all(a, ${L24}.all(b, ${L24}.all(c, a + b + c >= 0)))`,
      },
    ]);
    const verifier = new DownscopedTokenVerifier(vopts);
    code(
      () => verifier.verify(wide, { resource: 'bucket/acme/a.csv', permission: 'read' }),
      'ERR_CEL_COST_EXCEEDED',
    );
    // a verifier given a larger budget runs it
    const generous = new DownscopedTokenVerifier({ ...vopts, celBudget: { maxCost: 1_000_000 } });
    assert.equal(generous.verify(wide, { resource: 'bucket/acme/a.csv', permission: 'read' }).sub, 'alice');
  });
  it('refuses resource names that are not canonical instead of prefix-matching them', () => {
    const d = new DownscopedTokenDeriver(inter.token, inter.sessionKey, { clock });
    const t = d.derive([{ resource_prefix: 'bucket/acme/public/', permissions: ['read'] }]);
    const verifier = new DownscopedTokenVerifier(vopts);
    for (const resource of [
      'bucket/acme/public/../private/x',
      'bucket/acme/public/./x',
      'bucket/acme/public//x',
      'bucket/acme/public/%2e%2e/private/x',
      'bucket/acme/public/%2E%2e/private/x',
      'bucket/acme/public/..%2Fprivate/x',
      'bucket/acme/public/..%2fprivate%2Fx',
      'bucket/acme/public/..\\private\\x',
      'bucket/acme/public/x\u0000.csv',
      'bucket/acme/public/..',
      'bucket/acme/public/.',
      'bucket/acme/public/x/..',
    ])
      code(() => verifier.verify(t, { resource, permission: 'read' }), 'ERR_DOWNSCOPE_RESOURCE_INVALID');
    assert.equal(
      verifier.verify(t, { resource: 'bucket/acme/public/x..y/.z', permission: 'read' }).sub,
      'alice',
    );
    assert.equal(verifier.verify(t, { resource: 'bucket/acme/public/x/', permission: 'read' }).sub, 'alice');
    // a rule's own prefix is held to the same rule, when deriving and when verifying
    code(
      () => d.derive([{ resource_prefix: 'bucket/acme/public/../', permissions: ['read'] }]),
      'ERR_DOWNSCOPE_INVALID',
    );
  });
  it('rejects a boundary that widens the grant', () => {
    const d = new DownscopedTokenDeriver(inter.token, inter.sessionKey, { clock });
    code(
      () => verifyDownscopedToken(d.derive([{ resource_prefix: 'bucket/', permissions: ['read'] }]), vopts),
      'ERR_DOWNSCOPE_WIDENS_GRANT',
    );
    code(
      () =>
        verifyDownscopedToken(
          d.derive([{ resource_prefix: 'bucket/shared/x', permissions: ['write'] }]),
          vopts,
        ),
      'ERR_DOWNSCOPE_WIDENS_GRANT',
    );
    code(
      () =>
        verifyDownscopedToken(
          d.derive([{ resource_prefix: 'bucket/acme/', permissions: ['read', 'admin'] }]),
          vopts,
        ),
      'ERR_DOWNSCOPE_WIDENS_GRANT',
    );
  });
  it('rejects a tampered boundary or intermediary', () => {
    const t = deriveDownscopedToken(
      inter.token,
      inter.sessionKey,
      [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
      { clock },
    );
    const [i, jwe] = t.split('~') as [string, string];
    const parts = jwe.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0]! ^= 1;
    parts[3] = ct.toString('base64url');
    code(() => verifyDownscopedToken(`${i}~${parts.join('.')}`, vopts), 'ERR_DOWNSCOPE_INVALID');
    const ip = i.split('.');
    const payload = JSON.parse(Buffer.from(ip[1]!, 'base64url').toString());
    payload.grant[0].permissions.push('admin');
    ip[1] = Buffer.from(JSON.stringify(payload)).toString('base64url');
    code(() => verifyDownscopedToken(`${ip.join('.')}~${jwe}`, vopts), 'ERR_DOWNSCOPE_INVALID');
    code(() => verifyDownscopedToken('garbage', vopts), 'ERR_DOWNSCOPE_INVALID');
    code(() => verifyDownscopedToken(`${i}~${jwe}~x`, vopts), 'ERR_DOWNSCOPE_INVALID');
  });
  it('rejects a boundary sealed under another session key (swapped intermediary)', () => {
    const other = createIntermediary({
      iss: 'https://as.test',
      sub: 'bob',
      grant,
      exp: T + 3600,
      signingKey: as.privateKey,
      rsKey,
      rsKid: 'rs-1',
      clock,
    });
    const t = deriveDownscopedToken(
      inter.token,
      inter.sessionKey,
      [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
      { clock },
    );
    code(() => verifyDownscopedToken(`${other.token}~${t.split('~')[1]}`, vopts), 'ERR_DOWNSCOPE_INVALID');
  });
  it('rejects a token that outlives the intermediary, and an expired intermediary', () => {
    const sk = createSecretKey(Buffer.from(inter.sessionKey, 'base64url'));
    const long = `${inter.token}~${sealDir(JSON.stringify({ rules: [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }], exp: T + 7200 }), sk, {})}`;
    code(() => verifyDownscopedToken(long, vopts), 'ERR_DOWNSCOPE_EXPIRED');
    const t = deriveDownscopedToken(
      inter.token,
      inter.sessionKey,
      [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
      { clock },
    );
    code(() => verifyDownscopedToken(t, { ...vopts, clock: () => T + 3600 }), 'ERR_DOWNSCOPE_EXPIRED');
    const short = deriveDownscopedToken(
      inter.token,
      inter.sessionKey,
      [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
      { clock, expiresIn: 60 },
    );
    code(() => verifyDownscopedToken(short, { ...vopts, clock: () => T + 61 }), 'ERR_DOWNSCOPE_EXPIRED');
    code(
      () => deriveDownscopedToken(inter.token, inter.sessionKey, [], { clock: () => T + 3600 }),
      'ERR_DOWNSCOPE_EXPIRED',
    );
  });
  it('rejects an intermediary from another authority or for another resource-server key', () => {
    const t = deriveDownscopedToken(
      inter.token,
      inter.sessionKey,
      [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
      { clock },
    );
    code(
      () =>
        verifyDownscopedToken(t, {
          ...vopts,
          intermediaryVerifier: generateKeyPairSync('ed25519').publicKey,
        }),
      'ERR_DOWNSCOPE_INVALID',
    );
    code(
      () => verifyDownscopedToken(t, { ...vopts, rsKey: createSecretKey(randomBytes(32)) }),
      'ERR_DOWNSCOPE_INVALID',
    );
  });
});

describe('downscoped tokens over real HTTP', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = Fastify();
    app.get('/objects/*', async (req, reply) => {
      const auth = req.headers.authorization ?? '';
      try {
        const name = `bucket/${(req.params as { '*': string })['*']}`;
        verifyDownscopedToken(auth.replace(/^Bearer /, ''), {
          intermediaryVerifier: as.publicKey,
          rsKey,
          resource: name,
          permission: 'read',
        });
        return { ok: name };
      } catch (e) {
        return reply.code(403).send({ error: (e as { code: string }).code });
      }
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(() => app.close());

  it('accepts a locally derived token and denies outside its boundary', async () => {
    const live = createIntermediary({
      iss: 'https://as.test',
      sub: 'alice',
      grant,
      exp: Math.floor(Date.now() / 1000) + 600,
      signingKey: as.privateKey,
      rsKey,
      rsKid: 'rs-1',
    });
    const t = deriveDownscopedToken(live.token, live.sessionKey, [
      { resource_prefix: 'bucket/acme/public/', permissions: ['read'] },
    ]);
    let r = await fetch(`${base}/objects/acme/public/a.txt`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal(r.status, 200);
    r = await fetch(`${base}/objects/acme/private/a.txt`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal(r.status, 403);
    assert.deepEqual(await r.json(), { error: 'ERR_DOWNSCOPE_DENIED' });
  });
});

describe('DownscopedTokenVerifier', () => {
  it('reuses the opened intermediary and still enforces expiry, narrowing and the boundary', () => {
    let now = T;
    const v = new DownscopedTokenVerifier({ intermediaryVerifier: as.publicKey, rsKey, clock: () => now });
    const d = new DownscopedTokenDeriver(inter.token, inter.sessionKey, { clock });
    const t = d.derive([{ resource_prefix: 'bucket/acme/', permissions: ['read'] }]);
    assert.equal(v.verify(t, { resource: 'bucket/acme/x', permission: 'read' }).sub, 'alice');
    code(() => v.verify(t, { resource: 'bucket/acme/x', permission: 'write' }), 'ERR_DOWNSCOPE_DENIED');
    code(
      () => v.verify(d.derive([{ resource_prefix: 'bucket/', permissions: ['read'] }])),
      'ERR_DOWNSCOPE_WIDENS_GRANT',
    );
    now = T + 3600;
    code(() => v.verify(t), 'ERR_DOWNSCOPE_EXPIRED');
  });
  it('does not let a cached intermediary vouch for a verifier with another key', () => {
    const v1 = new DownscopedTokenVerifier({ intermediaryVerifier: as.publicKey, rsKey, clock });
    const v2 = new DownscopedTokenVerifier({
      intermediaryVerifier: generateKeyPairSync('ed25519').publicKey,
      rsKey,
      clock,
    });
    const t = deriveDownscopedToken(
      inter.token,
      inter.sessionKey,
      [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
      { clock },
    );
    v1.verify(t);
    code(() => v2.verify(t), 'ERR_DOWNSCOPE_INVALID');
  });
  it('does not take a cached signature pasted onto another intermediary payload as verified', () => {
    const v = new DownscopedTokenVerifier({ intermediaryVerifier: as.publicKey, rsKey, clock });
    const boundary = [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }];
    v.verify(deriveDownscopedToken(inter.token, inter.sessionKey, boundary, { clock }));
    // same header and signature, a payload granting everything under the same session key
    const [h, p, sig] = inter.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    claims.grant = [{ resource_prefix: '', permissions: ['read', 'write', 'admin'] }];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
    const wide = [{ resource_prefix: 'bucket/', permissions: ['admin'] }];
    code(
      () => v.verify(deriveDownscopedToken(forged, inter.sessionKey, wide, { clock })),
      'ERR_DOWNSCOPE_INVALID',
    );
  });
  it('refuses to derive a malformed boundary or from a malformed intermediary', () => {
    const d = new DownscopedTokenDeriver(inter.token, inter.sessionKey, { clock });
    code(() => d.derive([]), 'ERR_DOWNSCOPE_INVALID');
    code(() => d.derive([{ resource_prefix: 'a/', permissions: [] }]), 'ERR_DOWNSCOPE_INVALID');
    code(() => new DownscopedTokenDeriver('a.!!!.c', inter.sessionKey), 'ERR_INVALID_ARGUMENT');
    code(() => new DownscopedTokenDeriver('a.bm90IGpzb24.c', inter.sessionKey), 'ERR_INVALID_ARGUMENT');
  });
});
