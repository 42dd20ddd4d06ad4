import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { jwtVerify, SignJWT } from 'jose';
import {
  certificateThumbprint,
  checkCertificateBinding,
  mtlsBindingFromRequest,
  mtlsPlugin,
} from '../../src/mtls/index.js';
import { type KeyCert, makePki } from './certs.js';

// Certificates are made in the test with the openssl binary: a CA, a server certificate for 127.0.0.1 and
// two client certificates (test/mtls/certs.ts).
const pki = makePki(['alice', 'mallory']);
const { ca, server, ossl } = pki;
const alice = pki.clients.alice as KeyCert;
const mallory = pki.clients.mallory as KeyCert;
const as = generateKeyPairSync('ed25519');

let app: FastifyInstance;
let port: number;

function call(
  path: string,
  opts: { method?: string; client?: { key: Buffer; cert: Buffer }; token?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        ca,
        ...(opts.client ?? {}),
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        let s = '';
        res.on('data', (d) => {
          s += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(s) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  app = Fastify({
    https: { key: server.key, cert: server.cert, ca, requestCert: true, rejectUnauthorized: false },
  });
  // the authority's half: bind the issued token to the client certificate of the TLS connection
  app.post('/token', async (req) => {
    const cnf = mtlsBindingFromRequest(req);
    const t = await new SignJWT({ ...(cnf ? { cnf } : {}) })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(as.privateKey);
    return { access_token: t, token_type: 'Bearer', bound: cnf !== undefined };
  });
  await app.register(async (rs) => {
    await rs.register(mtlsPlugin, {
      verifyAccessToken: async (t: string) =>
        (await jwtVerify(t, as.publicKey, { typ: 'at+jwt' })).payload as Record<string, unknown>,
    });
    rs.get('/data', async (req) => ({ sub: req.mtlsToken?.claims.sub }));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
after(async () => {
  await app.close();
  pki.dispose();
});

describe('mTLS certificate-bound tokens over real HTTPS', () => {
  it('computes x5t#S256 as base64url SHA-256 of the DER certificate (checked against openssl dgst)', () => {
    const x = new X509Certificate(alice.cert);
    const der = Buffer.from(ossl('x509', '-in', 'alice.crt', '-outform', 'DER'));
    assert.equal(certificateThumbprint(x), certificateThumbprint(der));
    assert.equal(
      certificateThumbprint(alice.cert.toString()),
      Buffer.from(execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der })).toString(
        'base64url',
      ),
    );
  });

  it('binds the token to the client certificate and accepts it on the same certificate', async () => {
    const t = await call('/token', { method: 'POST', client: alice });
    assert.equal(t.body.bound, true);
    const r = await call('/data', { client: alice, token: t.body.access_token as string });
    assert.equal(r.status, 200);
    assert.equal(r.body.sub, 'alice');
  });

  it('rejects the token presented with another certificate', async () => {
    const t = await call('/token', { method: 'POST', client: alice });
    const r = await call('/data', { client: mallory, token: t.body.access_token as string });
    assert.equal(r.status, 401);
    assert.equal(r.body.error_description, 'ERR_MTLS_BINDING_MISMATCH');
  });

  it('rejects the token presented without a client certificate', async () => {
    const t = await call('/token', { method: 'POST', client: alice });
    const r = await call('/data', { token: t.body.access_token as string });
    assert.equal(r.body.error_description, 'ERR_MTLS_CERTIFICATE_MISSING');
  });

  it('issues no binding without a client certificate, and such a token is refused', async () => {
    const t = await call('/token', { method: 'POST' });
    assert.equal(t.body.bound, false);
    const r = await call('/data', { client: alice, token: t.body.access_token as string });
    assert.equal(r.body.error_description, 'ERR_MTLS_BINDING_MISMATCH');
  });

  it('checkCertificateBinding rejects a mismatch and a missing certificate', () => {
    const claims = { cnf: { 'x5t#S256': certificateThumbprint(alice.cert.toString()) } };
    checkCertificateBinding(claims, new X509Certificate(alice.cert));
    assert.throws(() => checkCertificateBinding(claims, new X509Certificate(mallory.cert)), {
      code: 'ERR_MTLS_BINDING_MISMATCH',
    });
    assert.throws(() => checkCertificateBinding(claims, {}), { code: 'ERR_MTLS_CERTIFICATE_MISSING' });
    assert.throws(() => checkCertificateBinding({}, new X509Certificate(alice.cert)), {
      code: 'ERR_MTLS_BINDING_MISMATCH',
    });
  });
});
