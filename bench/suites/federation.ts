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
    const mapper = new CelAttributeMapper(
      {
        subject: 'assertion.sub',
        'attribute.repository': 'assertion.repository',
        groups: "assertion.groups.filter(g, g.startsWith('group-1'))",
      },
      "assertion.repository_owner == 'acme' && assertion.ref.startsWith('refs/heads/') && 'group-7' in assertion.groups",
    );
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
      { case: 'SAML assertion verify + mapping', impl: 'offtoken', fn: () => saml.verify(assertion) },
    ];
  },
};
