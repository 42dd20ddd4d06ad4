import { type CelInput, celEnv, isCelList, parse, plan } from '@bufbuild/cel';
import { CelAttributeMapper, SamlTrust } from '../../src/federation/index.js';
import { assertionXml, clock, sign, trust } from '../../test/federation/saml-helpers.js';
import type { BenchCase, BenchSuite } from '../harness.js';

/**
 * Token exchange's federation half: the CEL attribute mapping and condition an operator configures, over
 * typical OIDC claims, and a SAML assertion verified (signature, conditions) then mapped.
 */
export const suite: BenchSuite = {
  name: 'federation',
  async setup(): Promise<BenchCase[]> {
    const claims = {
      iss: 'https://token.actions.githubusercontent.com',
      sub: 'repo:acme/app:ref:refs/heads/main',
      aud: 'https://auth.example',
      repository: 'acme/app',
      repository_owner: 'acme',
      ref: 'refs/heads/main',
      groups: Array.from({ length: 50 }, (_, i) => `group-${i}`),
      exp: 2_000_000_000,
    };
    const mapping = {
      subject: 'assertion.sub',
      'attribute.repository': 'assertion.repository',
      groups: "assertion.groups.filter(g, g.startsWith('group-1'))",
    };
    const condition =
      "assertion.repository_owner == 'acme' && assertion.ref.startsWith('refs/heads/') && 'group-7' in assertion.groups";
    const mapper = new CelAttributeMapper(mapping, condition);
    // the same expressions planned once on the library's plain environment, no budget: the reference row
    const env = celEnv();
    const plain = Object.entries(mapping).map(([k, e]) => [k, plan(env, parse(e))] as const);
    const plainCondition = plan(env, parse(condition));
    const toInput = (v: unknown): CelInput =>
      Array.isArray(v)
        ? (v.map(toInput) as CelInput)
        : v !== null && typeof v === 'object'
          ? (new Map(Object.entries(v).map(([k, x]) => [k, toInput(x)])) as unknown as CelInput)
          : (v as CelInput);
    const unmetered = () => {
      const ctx = { assertion: toInput(claims) };
      if (plainCondition(ctx) !== true) throw new Error('condition');
      const out: Record<string, unknown> = {};
      for (const [k, p] of plain) {
        const v = p(ctx);
        out[k] = isCelList(v) ? [...v] : v;
      }
      return out;
    };
    const saml = new SamlTrust(
      {
        ...trust,
        attribute_mapping: { subject: 'assertion.sub', groups: 'assertion.attributes.groups' },
        attribute_condition: "'admins' in assertion.attributes.groups",
      },
      clock,
    );
    const assertion = sign(assertionXml('alice@acme.example'));
    return [
      { case: 'federation CEL mapping + condition', impl: 'offtoken', fn: () => mapper.map(claims) },
      { case: 'federation CEL mapping + condition', impl: '@bufbuild/cel, no budget', fn: unmetered },
      { case: 'SAML assertion verify + mapping', impl: 'offtoken', fn: () => saml.verify(assertion) },
    ];
  },
};
