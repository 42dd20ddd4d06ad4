import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifySamlAssertion } from '../../src/federation/saml.js';
import { assertionXml, clock, NOW, other, sign, trust } from './saml-helpers.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('SAML 2.0 assertion verification', () => {
  it('accepts a signed assertion and reads subject, audience, times and attributes', () => {
    const c = verifySamlAssertion(sign(assertionXml('alice@acme.example')), trust, clock);
    assert.equal(c.sub, 'alice@acme.example');
    assert.equal(c.iss, 'https://idp.example');
    assert.deepEqual(c.aud, ['https://auth.example']);
    assert.equal(c.exp, NOW + 300);
    assert.deepEqual(c.attributes, { groups: ['admins', 'devs'] });
  });

  it('accepts the base64url form used as an RFC 8693 subject_token', () => {
    const b = Buffer.from(sign(assertionXml('alice@acme.example'))).toString('base64url');
    assert.equal(verifySamlAssertion(b, trust, clock).sub, 'alice@acme.example');
  });

  it('rejects a tampered NameID', () => {
    const x = sign(assertionXml('alice@acme.example')).replace('alice@acme.example', 'admin@acme.example');
    assert.equal(
      code(() => verifySamlAssertion(x, trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('rejects a signature by another key', () => {
    const x = sign(
      assertionXml('alice@acme.example'),
      undefined,
      other.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    );
    assert.equal(
      code(() => verifySamlAssertion(x, trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('wrapping: an unsigned evil assertion placed before the signed one is never read', () => {
    const signed = sign(assertionXml('alice@acme.example'));
    const evil = assertionXml('admin@acme.example', '_evil');
    const wrapped = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${evil}<samlp:Extensions>${signed}</samlp:Extensions></samlp:Response>`;
    // the subject comes from the signed reference only, so the attacker's assertion is never read
    assert.equal(verifySamlAssertion(wrapped, trust, clock).sub, 'alice@acme.example');
  });

  it('duplicate IDs: an evil assertion with the signed ID is refused', () => {
    const signed = sign(assertionXml('alice@acme.example'));
    const evil = assertionXml('admin@acme.example', '_a1');
    const wrapped = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${evil}${signed}</samlp:Response>`;
    assert.equal(
      code(() => verifySamlAssertion(wrapped, trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('wrapping: an evil assertion carrying the signed one inside Advice is never read', () => {
    const signed = sign(assertionXml('alice@acme.example'));
    // the attacker's assertion is the document root; the genuine signed assertion hides in its Advice
    const evil = assertionXml('admin@acme.example', '_evil', `<saml:Advice>${signed}</saml:Advice>`);
    const c = verifySamlAssertion(evil, trust, clock);
    assert.equal(c.sub, 'alice@acme.example');
    assert.deepEqual(c.attributes, { groups: ['admins', 'devs'] });
  });

  it('wrapping: the signature moved onto an evil assertion (signed one detached in a sibling) is never read', () => {
    const signed = sign(assertionXml('alice@acme.example'));
    const sigXml = /<Signature[\s\S]*<\/Signature>/.exec(signed)![0];
    const stripped = signed.replace(sigXml, '');
    const evil = assertionXml('admin@acme.example', '_evil').replace(
      '</saml:Issuer>',
      `</saml:Issuer>${sigXml}`,
    );
    const doc = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${evil}${stripped}</samlp:Response>`;
    // the reference points at _a1 (the stripped genuine assertion): whatever verifies, admin is never the subject
    let sub: string | undefined;
    try {
      sub = verifySamlAssertion(doc, trust, clock).sub;
    } catch (e) {
      assert.equal((e as { code: string }).code, 'ERR_FEDERATION_TOKEN_INVALID');
    }
    assert.notEqual(sub, 'admin@acme.example');
  });

  it('two Signature elements are refused', () => {
    const signed = sign(assertionXml('alice@acme.example'));
    const sigXml = /<Signature[\s\S]*<\/Signature>/.exec(signed)![0];
    const doubled = signed.replace('</saml:Assertion>', `${sigXml}</saml:Assertion>`);
    assert.equal(
      code(() => verifySamlAssertion(doubled, trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('comment injection in NameID cannot truncate the subject', () => {
    const signed = sign(assertionXml('bob@acme.example.evil.test'));
    const injected = signed.replace('bob@acme.example.evil.test', 'bob@acme.example<!---->.evil.test');
    assert.equal(verifySamlAssertion(injected, trust, clock).sub, 'bob@acme.example.evil.test');
  });

  it('a signature over a different element than the Assertion is refused', () => {
    const x = assertionXml('alice@acme.example', '_a1', '<saml:Advice ID="_adv">x</saml:Advice>');
    const signed = sign(x, "//*[local-name(.)='Advice']");
    assert.equal(
      code(() => verifySamlAssertion(signed, trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('rejects DOCTYPE and entities before parsing', () => {
    const x = `<!DOCTYPE a [<!ENTITY e "x">]>${sign(assertionXml('alice@acme.example'))}`;
    assert.equal(
      code(() => verifySamlAssertion(x, trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('rejects oversized input', () => {
    assert.equal(
      code(() => verifySamlAssertion(`<a>${'x'.repeat(300_000)}</a>`, trust, clock)),
      'ERR_INPUT_TOO_LARGE',
    );
  });

  it('rejects an expired assertion, a wrong audience and a wrong issuer', () => {
    const x = sign(assertionXml('alice@acme.example'));
    assert.equal(
      code(() => verifySamlAssertion(x, trust, () => NOW + 3600)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
    assert.equal(
      code(() => verifySamlAssertion(x, { ...trust, audiences: ['https://other'] }, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
    assert.equal(
      code(() => verifySamlAssertion(x, { ...trust, issuer: 'https://other-idp' }, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('rejects XML that is not well-formed', () => {
    assert.equal(
      code(() => verifySamlAssertion('<a><b></a>', trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });
});
