import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import type { CelBudget } from '../cel/budget.js';
import { type Clock, systemClock } from '../clock.js';
import { InputTooLargeError } from '../errors/base.js';
import { FederationTokenInvalidError } from '../errors/server.js';
import { CelAttributeMapper, type PolicyConfig } from './cel.js';
import type { FederatedIdentity } from './oidc.js';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
export const MAX_SAML_BYTES = 256 * 1024;
/** Nodes (elements, attributes, text) and element depth of a document, checked before any signature work. */
export const MAX_SAML_NODES = 10_000;
export const MAX_SAML_DEPTH = 32;
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
  /** Every attribute is a list of its values, one value or many, so a CEL condition reads both alike. */
  attributes: Record<string, string[]>;
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

/**
 * XML whitespace only (XML 1.0 2.3 S: space, tab, CR, LF). JavaScript's trim() also strips U+00A0, U+FEFF,
 * U+2028 and the other Unicode spaces, which made "\u00A0admin" and "admin" the same NameID.
 */
const xmlTrim = (s: string | null | undefined): string => (s ?? '').replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

/** Node count and element depth, walked iteratively (a deep document must not exhaust the stack). */
function checkShape(doc: Document): void {
  let nodes = 0;
  const stack: [Node, number][] = [[doc as unknown as Node, 0]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop()!;
    if (depth > MAX_SAML_DEPTH)
      throw new InputTooLargeError(`SAML document nests deeper than ${MAX_SAML_DEPTH} elements`);
    nodes += 1 + ((n as Element).attributes?.length ?? 0);
    if (nodes > MAX_SAML_NODES)
      throw new InputTooLargeError(`SAML document has more than ${MAX_SAML_NODES} nodes`);
    for (let c = n.firstChild; c; c = c.nextSibling) stack.push([c, c.nodeType === 1 ? depth + 1 : depth]);
  }
}

/** The DER of the public key in a PEM certificate or key, for comparing certificates by key. */
function spki(pem: string): Buffer {
  const k = pem.includes('CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  return k.export({ type: 'spki', format: 'der' });
}

/**
 * What xml-crypto would verify, checked before it does any work: it computes every Reference's digest
 * (three XPath passes over the document each) before it looks at the SignatureValue, so an unauthenticated
 * caller could make it digest 60 references of a self-signed assertion. Exactly one Reference, to the ID of
 * the element the Signature sits in (an Assertion or a Response), that ID unique in the document; at most
 * the two transforms SAML uses; any certificate in KeyInfo must carry the configured IdP key.
 */
function checkSignatureShape(doc: Document, sig: Element, idpKey: Buffer): void {
  if (doc.getElementsByTagNameNS(DSIG, 'Reference').length !== 1)
    throw bad('the signature must have exactly one Reference');
  const signedInfo = one(sig, DSIG, 'SignedInfo', 'SignedInfo');
  const ref = one(signedInfo, DSIG, 'Reference', 'Reference in SignedInfo');
  const parent = sig.parentNode as Element | null;
  if (
    parent?.nodeType !== 1 ||
    !(
      (parent.namespaceURI === SAML && parent.localName === 'Assertion') ||
      (parent.namespaceURI === SAMLP && parent.localName === 'Response')
    )
  )
    throw bad('the signature must sit in the Assertion (or Response) it signs');
  const id = parent.getAttribute('ID');
  if (!id || ref.getAttribute('URI') !== `#${id}`)
    throw bad("the Reference must point at the signed element's ID");
  let sameId = 0;
  const all = doc.getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) if (all[i]!.getAttribute('ID') === id) sameId++;
  if (sameId !== 1) throw bad('the signed ID is not unique in the document');
  if (doc.getElementsByTagNameNS(DSIG, 'Transform').length > 2) throw bad('too many signature transforms');
  const certs = doc.getElementsByTagNameNS(DSIG, 'X509Certificate');
  for (let i = 0; i < certs.length; i++) {
    const b64 = xmlTrim(certs[i]!.textContent).replace(/[ \t\r\n]/g, '');
    let key: Buffer;
    try {
      key = spki(`-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----`);
    } catch {
      throw bad('the signing certificate cannot be read');
    }
    if (!key.equals(idpKey)) throw bad('the signing certificate is not the configured IdP certificate');
  }
}

/** What checkSignature does first (xml-crypto 6 `SignedXml`), reached for its SignatureValue step alone. */
interface SignedXmlInternals {
  signatureAlgorithm?: string;
  signatureValue?: string;
  getCanonSignedInfoXml?: (doc: Document) => string;
  findSignatureAlgorithm?: (name?: string) => { verifySignature(s: string, k: string, v: string): boolean };
}

/** Fails closed if xml-crypto ever drops these internals (a test then fails, rather than a check vanishing). */
function signedInfoVerifies(sig: SignedXmlInternals, doc: Document, publicCert: string): boolean {
  try {
    if (typeof sig.getCanonSignedInfoXml !== 'function' || typeof sig.findSignatureAlgorithm !== 'function')
      return false;
    if (typeof sig.signatureValue !== 'string') return false;
    const canon = sig.getCanonSignedInfoXml(doc);
    return sig
      .findSignatureAlgorithm(sig.signatureAlgorithm)
      .verifySignature(canon, publicCert, sig.signatureValue);
  } catch {
    return false;
  }
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
  // The parser turns U+0085, U+2028 and U+2029 into line feeds (XML 1.1 line ends), which XML-whitespace
  // trimming then removes: "admin\u2028" would become the NameID "admin". No SAML value needs them.
  if (/[\u0085\u2028\u2029]/.test(xml)) throw bad('U+0085, U+2028 and U+2029 are not allowed');
  const doc = parse(xml);
  checkShape(doc);
  const sigs = doc.getElementsByTagNameNS(DSIG, 'Signature');
  if (sigs.length !== 1) throw bad('expected exactly one XML signature');
  let key: KeyObject;
  let idpKey: Buffer;
  try {
    key = createPublicKey(trust.cert);
    idpKey = key.export({ type: 'spki', format: 'der' });
  } catch {
    throw bad('the configured IdP certificate cannot be read');
  }
  checkSignatureShape(doc, sigs[0] as Element, idpKey);
  const publicCert = key.export({ type: 'spki', format: 'pem' }) as string;
  const sig = new SignedXml({
    publicCert,
    // never take a key from the document
    getCertFromKeyInfo: () => null,
  });
  try {
    sig.loadSignature(sigs[0] as never);
  } catch {
    throw bad('the XML signature cannot be read');
  }
  // The SignatureValue over SignedInfo is checked with the IdP key first, with xml-crypto's own
  // canonicalization and algorithm: only then are the Reference digests computed (checkSignature does
  // them first, so a self-signed document would cost a digest pass over the whole document).
  if (!signedInfoVerifies(sig as unknown as SignedXmlInternals, doc, publicCert))
    throw bad('the XML signature does not verify with the IdP key');
  let signed: string[];
  try {
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

  const issuer = xmlTrim(one(assertion, SAML, 'Issuer', 'Issuer').textContent);
  if (issuer !== trust.issuer) throw bad('the Issuer is not the configured IdP');
  const subject = one(assertion, SAML, 'Subject', 'Subject');
  // textContent joins every text node, so a comment inside NameID cannot truncate it (CVE-2017-11428 class)
  const sub = xmlTrim(one(subject, SAML, 'NameID', 'NameID').textContent);
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
    for (const a of children(r, SAML, 'Audience')) aud.push(xmlTrim(a.textContent));
  if (!aud.some((a) => trust.audiences.includes(a))) throw bad('no Audience is an allowed audience');
  const attributes: Record<string, string[]> = {};
  for (const st of children(assertion, SAML, 'AttributeStatement'))
    for (const at of children(st, SAML, 'Attribute')) {
      const name = at.getAttribute('Name');
      if (!name) continue;
      const values = children(at, SAML, 'AttributeValue').map((v) => xmlTrim(v.textContent));
      attributes[name] = [...(attributes[name] ?? []), ...values];
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
