import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SignedXml } from 'xml-crypto';
import { MAX_SAML_DEPTH, SamlTrust, verifySamlAssertion } from '../../src/federation/saml.js';
import { makePki } from '../mtls/certs.js';
import { assertionXml, clock, NOW, other, privatePem, sign, trust } from './saml-helpers.js';

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

  it('an assertion whose signature carries 60 References is refused before any digest is computed', () => {
    const signed = sign(assertionXml('alice@acme.example'));
    const ref = /<Reference[\s\S]*?<\/Reference>/.exec(signed)![0];
    const flooded = signed.replace(ref, ref.repeat(60));
    const original = SignedXml.prototype.checkSignature;
    let calls = 0;
    SignedXml.prototype.checkSignature = function (this: SignedXml, ...a: never[]) {
      calls++;
      return (original as (...x: never[]) => boolean).apply(this, a);
    } as typeof original;
    try {
      assert.equal(
        code(() => verifySamlAssertion(flooded, trust, clock)),
        'ERR_FEDERATION_TOKEN_INVALID',
      );
      // two References, and a Reference hidden elsewhere in the document, are refused the same way
      assert.equal(
        code(() => verifySamlAssertion(signed.replace(ref, ref + ref), trust, clock)),
        'ERR_FEDERATION_TOKEN_INVALID',
      );
      const dsigRef = ref.replace('<Reference', '<Reference xmlns="http://www.w3.org/2000/09/xmldsig#"');
      const hidden = signed.replace('</saml:Issuer>', `</saml:Issuer><saml:Advice>${dsigRef}</saml:Advice>`);
      assert.equal(
        code(() => verifySamlAssertion(hidden, trust, clock)),
        'ERR_FEDERATION_TOKEN_INVALID',
      );
      assert.equal(calls, 0);
    } finally {
      SignedXml.prototype.checkSignature = original;
    }
  });

  it('a well-formed assertion signed by another key is refused before any Reference digest', () => {
    const x = sign(
      assertionXml('alice@acme.example'),
      undefined,
      other.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    );
    const original = SignedXml.prototype.checkSignature;
    let calls = 0;
    SignedXml.prototype.checkSignature = function (this: SignedXml, ...a: never[]) {
      calls++;
      return (original as (...x: never[]) => boolean).apply(this, a);
    } as typeof original;
    try {
      assert.equal(
        code(() => verifySamlAssertion(x, trust, clock)),
        'ERR_FEDERATION_TOKEN_INVALID',
      );
      assert.equal(calls, 0);
      // the IdP's own signature goes on to the digests
      assert.equal(
        verifySamlAssertion(sign(assertionXml('alice@acme.example')), trust, clock).sub,
        'alice@acme.example',
      );
      assert.equal(calls, 1);
    } finally {
      SignedXml.prototype.checkSignature = original;
    }
  });

  it('a signed Response carrying the assertion still verifies under the one-Reference rule', () => {
    const response =
      '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0">' +
      `<saml:Issuer>https://idp.example</saml:Issuer>${assertionXml('alice@acme.example')}</samlp:Response>`;
    const signed = sign(response, "//*[local-name(.)='Response']");
    assert.equal(verifySamlAssertion(signed, trust, clock).sub, 'alice@acme.example');
    // a Response outside the SAML protocol namespace is not one
    const foreign = sign(
      response.replaceAll('urn:oasis:names:tc:SAML:2.0:protocol', 'urn:example:not-saml'),
      "//*[local-name(.)='Response']",
    );
    assert.equal(
      code(() => verifySamlAssertion(foreign, trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('a Reference that does not point at the signed assertion is refused', () => {
    const signed = sign(assertionXml('alice@acme.example'));
    assert.equal(
      code(() => verifySamlAssertion(signed.replace('URI="#_a1"', 'URI="#_other"'), trust, clock)),
      'ERR_FEDERATION_TOKEN_INVALID',
    );
  });

  it('a signing certificate that is not the IdP one is refused before the digests', () => {
    const pki = makePki([]);
    try {
      writeFileSync(path.join(pki.dir, 'idp.key'), privatePem);
      pki.ossl('req', '-x509', '-key', 'idp.key', '-out', 'idp.crt', '-subj', '/CN=idp', '-days', '2');
      const idpCert = readFileSync(path.join(pki.dir, 'idp.crt'), 'utf8');
      const b64 = (pem: string | Buffer) => String(pem).replace(/-----[^-]+-----|\s/g, '');
      const signed = sign(assertionXml('alice@acme.example'));
      const withCert = (c: string) =>
        signed.replace(
          '</SignatureValue>',
          `</SignatureValue><KeyInfo><X509Data><X509Certificate>${c}</X509Certificate></X509Data></KeyInfo>`,
        );
      const original = SignedXml.prototype.checkSignature;
      let calls = 0;
      SignedXml.prototype.checkSignature = function (this: SignedXml, ...a: never[]) {
        calls++;
        return (original as (...x: never[]) => boolean).apply(this, a);
      } as typeof original;
      try {
        // an attacker's self-signed certificate, and one that does not parse
        for (const c of [b64(pki.ca), 'bm90IGEgY2VydA=='])
          assert.equal(
            code(() => verifySamlAssertion(withCert(c), trust, clock)),
            'ERR_FEDERATION_TOKEN_INVALID',
          );
        assert.equal(calls, 0);
      } finally {
        SignedXml.prototype.checkSignature = original;
      }
      // the IdP's own certificate in KeyInfo, configured as a certificate or as its public key, is accepted
      assert.equal(
        verifySamlAssertion(withCert(b64(idpCert)), { ...trust, cert: idpCert }, clock).sub,
        'alice@acme.example',
      );
      assert.equal(verifySamlAssertion(withCert(b64(idpCert)), trust, clock).sub, 'alice@acme.example');
    } finally {
      pki.dispose();
    }
  });

  it('refuses documents nested too deep or with too many nodes, before any signature work', () => {
    const deep = `${'<a>'.repeat(MAX_SAML_DEPTH + 5)}${'</a>'.repeat(MAX_SAML_DEPTH + 5)}`;
    assert.equal(
      code(() => verifySamlAssertion(deep, trust, clock)),
      'ERR_INPUT_TOO_LARGE',
    );
    const wide = `<a>${'<b/>'.repeat(20_000)}</a>`;
    assert.equal(
      code(() => verifySamlAssertion(wide, trust, clock)),
      'ERR_INPUT_TOO_LARGE',
    );
    const signedDeep = sign(
      assertionXml(
        'alice@acme.example',
        '_a1',
        `<saml:Advice>${'<x>'.repeat(40)}${'</x>'.repeat(40)}</saml:Advice>`,
      ),
    );
    assert.equal(
      code(() => verifySamlAssertion(signedDeep, trust, clock)),
      'ERR_INPUT_TOO_LARGE',
    );
  });

  it('trims only XML whitespace: "\\u00A0admin", "admin\\uFEFF", "admin\\u2028" are not "admin"', () => {
    for (const nameId of ['\u00A0admin', 'admin\uFEFF']) {
      const c = verifySamlAssertion(sign(assertionXml(nameId)), trust, clock);
      assert.equal(c.sub, nameId);
    }
    // the XML parser would turn U+2028 (and U+0085, U+2029) into a line feed: such documents are refused
    // (an IdP that signed "admin\n" and a document carrying "admin\u2028" instead would otherwise verify)
    const signedLf = sign(assertionXml('admin\n'));
    assert.equal(verifySamlAssertion(signedLf, trust, clock).sub, 'admin');
    for (const ch of ['\u2028', '\u0085', '\u2029'])
      assert.equal(
        code(() => verifySamlAssertion(signedLf.replace('admin\n', `admin${ch}`), trust, clock)),
        'ERR_FEDERATION_TOKEN_INVALID',
      );
    // XML whitespace around a NameID is layout, and is removed
    assert.equal(verifySamlAssertion(sign(assertionXml('\n\t admin \r\n')), trust, clock).sub, 'admin');
    // mapped to an identity, such a subject is refused rather than passed for "admin"
    const t = new SamlTrust({ ...trust, attribute_mapping: { subject: 'assertion.sub' } }, clock);
    for (const nameId of ['\u00A0admin', 'admin\uFEFF', 'admin\u200B'])
      assert.equal(
        code(() => t.verify(sign(assertionXml(nameId)))),
        'ERR_FEDERATION_MAPPING',
      );
    assert.equal(t.verify(sign(assertionXml('admin'))).subject, 'admin');
  });

  it('an attribute value "admins\\u00A0" is not the group "admins"', () => {
    const x = sign(assertionXml('bob@acme.example').replace('>admins<', '>admins\u00A0<'));
    assert.deepEqual(verifySamlAssertion(x, trust, clock).attributes, { groups: ['admins\u00A0', 'devs'] });
    const t = new SamlTrust(
      {
        ...trust,
        attribute_mapping: { subject: 'assertion.sub' },
        attribute_condition: "'admins' in assertion.attributes.groups",
      },
      clock,
    );
    assert.equal(
      code(() => t.verify(x)),
      'ERR_FEDERATION_CONDITION_FAILED',
    );
  });

  it("attributes are lists with one value or many: docs/config.md's condition works for both", () => {
    const one = sign(
      assertionXml('bob@acme.example').replace('<saml:AttributeValue>devs</saml:AttributeValue>', ''),
    );
    assert.deepEqual(verifySamlAssertion(one, trust, clock).attributes, { groups: ['admins'] });
    const t = new SamlTrust(
      {
        ...trust,
        attribute_mapping: { subject: 'assertion.sub', groups: 'assertion.attributes.groups' },
        attribute_condition: "'admins' in assertion.attributes.groups",
      },
      clock,
    );
    assert.deepEqual(t.verify(one).attributes, { groups: ['admins'] });
    assert.deepEqual(t.verify(sign(assertionXml('bob@acme.example'))).attributes, {
      groups: ['admins', 'devs'],
    });
  });
});
