import { createPublicKey, type KeyObject } from 'node:crypto';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import type { CelBudget } from '../cel/budget.js';
import { type Clock, systemClock } from '../clock.js';
import { InputTooLargeError } from '../errors/base.js';
import { FederationTokenInvalidError } from '../errors/server.js';
import { CelAttributeMapper, type PolicyConfig } from './cel.js';
import type { FederatedIdentity } from './oidc.js';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
export const MAX_SAML_BYTES = 256 * 1024;
const SKEW = 60;

export interface SamlTrustConfig {
  /** Expected `<Issuer>` of assertions. */
  issuer: string;
  /** The IdP signing certificate or public key, PEM. */
  cert: string;
  /** `<Audience>` must contain one of these. */
  audiences: string[];
}

/** The verified content of an assertion, shaped like JWT claims for the CEL mapping. */
export interface SamlClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  nbf?: number;
  attributes: Record<string, string | string[]>;
  [k: string]: unknown;
}

const bad = (why: string) => new FederationTokenInvalidError(`SAML assertion rejected: ${why}`);

function parse(xml: string): Document {
  const errors: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, msg: string) => {
        if (level !== 'warning') errors.push(msg);
      },
    }).parseFromString(xml, 'text/xml');
  } catch {
    throw bad('not well-formed XML');
  }
  if (errors.length > 0 || !doc?.documentElement) throw bad('not well-formed XML');
  return doc;
}

function children(el: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name)
      out.push(n as Element);
  return out;
}

function one(el: Element, ns: string, name: string, what: string): Element {
  const c = children(el, ns, name);
  if (c.length !== 1) throw bad(`expected exactly one ${what}`);
  return c[0]!;
}

function time(v: string | null, what: string): number | undefined {
  if (v === null || v === '') return undefined;
  const t = Date.parse(v);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) || Number.isNaN(t))
    throw bad(`${what} is not a UTC dateTime`);
  return Math.floor(t / 1000);
}

/**
 * Verifies a SAML 2.0 `<Assertion>` (bare, or inside a `<Response>`) signed by the configured IdP key.
 * Signature wrapping is defeated by reading NOTHING from the received document: after xml-crypto checks the
 * signature, the subject, conditions and attributes are read from the canonical bytes of the one signed
 * reference (`getSignedReferences`), re-parsed, which must itself be the Assertion.
 */
export function verifySamlAssertion(
  input: string,
  trust: SamlTrustConfig,
  clock: Clock = systemClock,
): SamlClaims {
  if (typeof input !== 'string') throw bad('not a string');
  if (input.length > MAX_SAML_BYTES)
    throw new InputTooLargeError(`SAML input exceeds ${MAX_SAML_BYTES} bytes`);
  const xml = input.trimStart().startsWith('<') ? input : Buffer.from(input, 'base64url').toString('utf8');
  if (xml.length > MAX_SAML_BYTES) throw new InputTooLargeError(`SAML input exceeds ${MAX_SAML_BYTES} bytes`);
  // XXE and billion laughs: no document type declarations, no entities, at all
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw bad('DOCTYPE and entity declarations are not allowed');
  const doc = parse(xml);
  const sigs = doc.getElementsByTagNameNS(DSIG, 'Signature');
  if (sigs.length !== 1) throw bad('expected exactly one XML signature');
  let key: KeyObject;
  try {
    key = createPublicKey(trust.cert);
  } catch {
    throw bad('the configured IdP certificate cannot be read');
  }
  const sig = new SignedXml({
    publicCert: key.export({ type: 'spki', format: 'pem' }) as string,
    // never take a key from the document
    getCertFromKeyInfo: () => null,
  });
  let signed: string[];
  try {
    sig.loadSignature(sigs[0] as never);
    if (!sig.checkSignature(xml)) throw new Error('invalid');
    signed = sig.getSignedReferences();
  } catch {
    throw bad('the XML signature does not verify with the IdP key');
  }
  if (signed.length !== 1) throw bad('the signature must cover exactly one element');
  const signedDoc = parse(signed[0]!);
  const root = signedDoc.documentElement;
  if (!root) throw bad('the signed reference is empty');
  let assertion: Element;
  if (root.namespaceURI === SAML && root.localName === 'Assertion') assertion = root;
  else if (root.localName === 'Response')
    assertion = one(root, SAML, 'Assertion', 'Assertion in the signed Response');
  else throw bad('the signature does not cover an Assertion');

  const issuer = one(assertion, SAML, 'Issuer', 'Issuer').textContent?.trim() ?? '';
  if (issuer !== trust.issuer) throw bad('the Issuer is not the configured IdP');
  const subject = one(assertion, SAML, 'Subject', 'Subject');
  // textContent joins every text node, so a comment inside NameID cannot truncate it (CVE-2017-11428 class)
  const sub = one(subject, SAML, 'NameID', 'NameID').textContent?.trim() ?? '';
  if (sub.length === 0 || sub.length > 255) throw bad('NameID is empty or too long');
  const conditions = one(assertion, SAML, 'Conditions', 'Conditions');
  const nbf = time(conditions.getAttribute('NotBefore'), 'NotBefore');
  const exp = time(conditions.getAttribute('NotOnOrAfter'), 'NotOnOrAfter');
  if (exp === undefined) throw bad('Conditions has no NotOnOrAfter');
  const now = clock();
  if (now >= exp + SKEW) throw bad('the assertion has expired');
  if (nbf !== undefined && now + SKEW < nbf) throw bad('the assertion is not yet valid');
  const aud: string[] = [];
  for (const r of children(conditions, SAML, 'AudienceRestriction'))
    for (const a of children(r, SAML, 'Audience')) aud.push(a.textContent?.trim() ?? '');
  if (!aud.some((a) => trust.audiences.includes(a))) throw bad('no Audience is an allowed audience');
  const attributes: Record<string, string | string[]> = {};
  for (const st of children(assertion, SAML, 'AttributeStatement'))
    for (const at of children(st, SAML, 'Attribute')) {
      const name = at.getAttribute('Name');
      if (!name) continue;
      const values = children(at, SAML, 'AttributeValue').map((v) => v.textContent?.trim() ?? '');
      attributes[name] = values.length === 1 ? values[0]! : values;
    }
  return { iss: issuer, sub, aud, exp, ...(nbf !== undefined ? { nbf } : {}), attributes };
}

export interface SamlProviderConfig extends SamlTrustConfig, PolicyConfig {
  attribute_mapping: Record<string, string>;
  attribute_condition?: string;
}

/** Trust in one SAML 2.0 IdP for token exchange: signature, issuer, audience, then the CEL mapping. */
export class SamlTrust {
  readonly issuer: string;
  private readonly mapper: CelAttributeMapper;

  constructor(
    private readonly cfg: SamlProviderConfig,
    private readonly clock: Clock = systemClock,
    celBudget?: Partial<CelBudget>,
  ) {
    this.issuer = cfg.issuer;
    this.mapper = new CelAttributeMapper(cfg.attribute_mapping, cfg.attribute_condition, cfg, celBudget);
    try {
      createPublicKey(cfg.cert);
    } catch {
      throw new FederationTokenInvalidError(`the certificate of SAML IdP ${cfg.issuer} cannot be read`);
    }
  }

  verify(input: string): FederatedIdentity {
    const claims = verifySamlAssertion(input, this.cfg, this.clock);
    const { subject, attributes, policy } = this.mapper.map(claims);
    return { issuer: this.issuer, subject, attributes, policy, exp: claims.exp };
  }
}
