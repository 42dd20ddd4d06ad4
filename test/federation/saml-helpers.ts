import { generateKeyPairSync } from 'node:crypto';
import { SignedXml } from 'xml-crypto';

export const idp = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const privatePem = idp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
export const publicPem = idp.publicKey.export({ type: 'spki', format: 'pem' }) as string;
export const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const trust = { issuer: 'https://idp.example', cert: publicPem, audiences: ['https://auth.example'] };
export const NOW = Date.parse('2026-01-01T00:00:00Z') / 1000;
export const clock = () => NOW;

export function assertionXml(nameId: string, id = '_a1', extra = ''): string {
  return (
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z">` +
    '<saml:Issuer>https://idp.example</saml:Issuer>' +
    `<saml:Subject><saml:NameID>${nameId}</saml:NameID></saml:Subject>` +
    '<saml:Conditions NotBefore="2025-12-31T23:59:00Z" NotOnOrAfter="2026-01-01T00:05:00Z">' +
    '<saml:AudienceRestriction><saml:Audience>https://auth.example</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
    '<saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>admins</saml:AttributeValue>' +
    '<saml:AttributeValue>devs</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>' +
    `${extra}</saml:Assertion>`
  );
}

export function sign(xml: string, xpath = "//*[local-name(.)='Assertion']", key = privatePem): string {
  const sig = new SignedXml({
    privateKey: key,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath,
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: [
      'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
      'http://www.w3.org/2001/10/xml-exc-c14n#',
    ],
  });
  sig.computeSignature(xml, {
    location: { reference: "//*[local-name(.)='Issuer']", action: 'after' },
  });
  return sig.getSignedXml();
}
