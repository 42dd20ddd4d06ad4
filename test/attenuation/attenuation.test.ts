import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  attenuate,
  caveat,
  MAX_CAVEATS,
  mintAttenuated,
  parseAttenuated,
  verifyAttenuated,
} from '../../src/attenuation/index.js';

const root = randomBytes(32);
const T = 1_800_000_000;
const clock = () => T;
const ctx = { resource: '/docs/2026/report.pdf', action: 'read', ip: '10.1.1.1', clock };

function code(fn: () => unknown, c: string) {
  assert.throws(fn, (e: { code?: string }) => {
    assert.equal(e.code, c);
    return true;
  });
}
function reencode(t: string, edit: (o: { v: number; id: string; c: string[]; s: string }) => void) {
  const o = JSON.parse(Buffer.from(t, 'base64url').toString());
  edit(o);
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('attenuated tokens', () => {
  it('verifies a token narrowed by a holder without the root key', () => {
    const t0 = mintAttenuated(root, 'tok-1', [caveat.expires(T + 60)]);
    const t1 = attenuate(t0, caveat.resourcePrefix('/docs/2026/'), caveat.actions('read', 'list'));
    const t2 = attenuate(t1, caveat.ipRanges('10.0.0.0/8', '::1'));
    const r = verifyAttenuated(root, t2, ctx);
    assert.equal(r.id, 'tok-1');
    assert.equal(r.caveats.length, 4);
  });
  it('evaluates every caveat: expiry, resource, action, ip', () => {
    const t = mintAttenuated(root, 'tok', [
      caveat.expires(T + 60),
      caveat.resourcePrefix('/docs/'),
      caveat.actions('read'),
      caveat.ipRanges('10.0.0.0/8'),
    ]);
    code(() => verifyAttenuated(root, t, { ...ctx, clock: () => T + 60 }), 'ERR_CAVEAT_FAILED');
    code(() => verifyAttenuated(root, t, { ...ctx, resource: '/secrets/x' }), 'ERR_CAVEAT_FAILED');
    code(() => verifyAttenuated(root, t, { ...ctx, action: 'write' }), 'ERR_CAVEAT_FAILED');
    code(() => verifyAttenuated(root, t, { ...ctx, ip: '192.168.0.1' }), 'ERR_CAVEAT_FAILED');
    code(() => verifyAttenuated(root, t, { clock }), 'ERR_CAVEAT_FAILED');
  });
  it('evaluates time-window and device-posture caveats (context conditions from caveats)', () => {
    const monday10 = () => Date.UTC(2026, 0, 5, 10) / 1000;
    const sunday10 = () => Date.UTC(2026, 0, 4, 10) / 1000;
    const monday18 = () => Date.UTC(2026, 0, 5, 18) / 1000;
    const t = mintAttenuated(root, 'tok', [
      caveat.hours(9, 17),
      caveat.days([1, 2, 3, 4, 5]),
      caveat.device('managed', true),
      caveat.device('os', 'linux', 'macos'),
    ]);
    const device = { managed: true, os: 'linux' };
    assert.equal(verifyAttenuated(root, t, { device, clock: monday10 }).caveats.length, 4);
    code(() => verifyAttenuated(root, t, { device, clock: monday18 }), 'ERR_CAVEAT_FAILED');
    code(() => verifyAttenuated(root, t, { device, clock: sunday10 }), 'ERR_CAVEAT_FAILED');
    code(
      () => verifyAttenuated(root, t, { device: { ...device, managed: false }, clock: monday10 }),
      'ERR_CAVEAT_FAILED',
    );
    code(() => verifyAttenuated(root, t, { device: { os: 'linux' }, clock: monday10 }), 'ERR_CAVEAT_FAILED');
    code(
      () => verifyAttenuated(root, t, { device: { ...device, os: ['linux'] }, clock: monday10 }),
      'ERR_CAVEAT_FAILED',
    );
    code(() => verifyAttenuated(root, t, { clock: monday10 }), 'ERR_CAVEAT_FAILED');
    // 10:00 UTC is 20:00 at UTC+10: outside 9-17 local
    const east = mintAttenuated(root, 'tok', [caveat.hours(9, 17, 600)]);
    assert.equal(caveat.hours(9, 17, 600), 'hours in 9-17 utc+600');
    code(() => verifyAttenuated(root, east, { clock: monday10 }), 'ERR_CAVEAT_FAILED');
  });
  it('refuses out-of-range time caveats as unknown', () => {
    for (const c of ['hours in 9-25', 'hours in 17-9', 'days in 1 utc+900', 'days in 7']) {
      code(() => verifyAttenuated(root, mintAttenuated(root, 'tok', [c]), { clock }), 'ERR_CAVEAT_UNKNOWN');
    }
  });
  it('names the failing caveat', () => {
    const t = mintAttenuated(root, 'tok', [caveat.actions('read')]);
    assert.throws(() => verifyAttenuated(root, t, { ...ctx, action: 'delete' }), {
      caveat: 'action in read',
    });
  });
  it('rejects a removed caveat', () => {
    const t = mintAttenuated(root, 'tok', [caveat.expires(T + 60), caveat.actions('read')]);
    code(
      () =>
        verifyAttenuated(
          root,
          reencode(t, (o) => o.c.pop()),
          ctx,
        ),
      'ERR_ATTENUATION_INVALID',
    );
    code(
      () =>
        verifyAttenuated(
          root,
          reencode(t, (o) => o.c.shift()),
          ctx,
        ),
      'ERR_ATTENUATION_INVALID',
    );
  });
  it('rejects reordered caveats', () => {
    const t = mintAttenuated(root, 'tok', [caveat.expires(T + 60), caveat.actions('read')]);
    code(
      () =>
        verifyAttenuated(
          root,
          reencode(t, (o) => o.c.reverse()),
          ctx,
        ),
      'ERR_ATTENUATION_INVALID',
    );
  });
  it('rejects an edited caveat, identifier or signature, and another root key', () => {
    const t = mintAttenuated(root, 'tok', [caveat.actions('read')]);
    code(
      () =>
        verifyAttenuated(
          root,
          reencode(t, (o) => {
            o.c[0] = 'action in read,write';
          }),
          ctx,
        ),
      'ERR_ATTENUATION_INVALID',
    );
    code(
      () =>
        verifyAttenuated(
          root,
          reencode(t, (o) => {
            o.id = 'tok2';
          }),
          ctx,
        ),
      'ERR_ATTENUATION_INVALID',
    );
    code(
      () =>
        verifyAttenuated(
          root,
          reencode(t, (o) => {
            o.s = 'A'.repeat(43);
          }),
          ctx,
        ),
      'ERR_ATTENUATION_INVALID',
    );
    code(() => verifyAttenuated(randomBytes(32), t, ctx), 'ERR_ATTENUATION_INVALID');
  });
  it('rejects an unknown caveat instead of ignoring it', () => {
    const t = mintAttenuated(root, 'tok', ['tenant = acme']);
    code(() => verifyAttenuated(root, t, ctx), 'ERR_CAVEAT_UNKNOWN');
  });
  it('rejects malformed and oversize tokens with typed errors', () => {
    code(() => parseAttenuated('!!'), 'ERR_ATTENUATION_INVALID');
    code(() => parseAttenuated(Buffer.from('[1]').toString('base64url')), 'ERR_ATTENUATION_INVALID');
    code(() => parseAttenuated('a'.repeat(20_000)), 'ERR_INPUT_TOO_LARGE');
    let t = mintAttenuated(root, 'tok');
    for (let i = 0; i < MAX_CAVEATS; i++) t = attenuate(t, caveat.actions('read'));
    code(() => attenuate(t, caveat.actions('read')), 'ERR_INPUT_TOO_LARGE');
  });
});
