import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkClaimConditions,
  checkDevicePosture,
  checkIpCondition,
  checkTimeWindow,
  evaluateConditions,
  ipInRanges,
} from '../../src/conditions/index.js';

function fails(fn: () => void, condition: string) {
  assert.throws(fn, (e: { code?: string; condition?: string }) => {
    assert.equal(e.code, 'ERR_CONDITION_FAILED');
    assert.equal(e.condition, condition);
    return true;
  });
}

// 2026-11-23 was a Monday; 10:30 UTC.
const MON_1030 = Date.UTC(2026, 10, 23, 10, 30) / 1000;

describe('IP ranges', () => {
  it('matches IPv4, IPv6 and IPv4-mapped IPv6 addresses', () => {
    assert.ok(ipInRanges('10.1.2.3', ['10.0.0.0/8']));
    assert.ok(ipInRanges('2001:db8::1', ['2001:db8::/32']));
    assert.ok(ipInRanges('::ffff:10.1.2.3', ['10.0.0.0/8']));
    assert.ok(ipInRanges('192.168.1.5', ['::ffff:192.168.1.0/120']));
    assert.ok(ipInRanges('127.0.0.1', ['127.0.0.1']));
    assert.equal(ipInRanges('11.0.0.1', ['10.0.0.0/8']), false);
    assert.equal(ipInRanges('2001:db9::1', ['2001:db8::/32']), false);
    assert.equal(ipInRanges('not-an-ip', ['0.0.0.0/0']), false);
  });
  it('rejects an address outside the ranges or absent with ERR_CONDITION_FAILED', () => {
    fails(() => checkIpCondition('8.8.8.8', ['10.0.0.0/8']), 'ip');
    fails(() => checkIpCondition(undefined, ['10.0.0.0/8']), 'ip');
  });
  it('refuses a malformed range as a usage error', () => {
    assert.throws(() => checkIpCondition('10.0.0.1', ['10.0.0.0/99']), { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('device posture', () => {
  it('accepts required values and lists of accepted values', () => {
    checkDevicePosture({ managed: true, os: 'macos', patch: 3 }, { managed: true, os: ['macos', 'linux'] });
  });
  it('rejects a missing, different or non-primitive claim', () => {
    fails(() => checkDevicePosture({ os: 'macos' }, { managed: true }), 'posture:managed');
    fails(() => checkDevicePosture({ managed: 'true' }, { managed: true }), 'posture:managed');
    fails(() => checkDevicePosture({ os: ['macos'] }, { os: 'macos' }), 'posture:os');
    fails(() => checkDevicePosture(undefined, { os: 'macos' }), 'posture:os');
  });
});

describe('time windows', () => {
  it('accepts inside the days, hours and bounds', () => {
    checkTimeWindow(
      { days: [1, 2, 3, 4, 5], hours: [9, 17], notBefore: MON_1030 - 1, notAfter: MON_1030 + 1 },
      () => MON_1030,
    );
  });
  it('applies the UTC offset to days and hours', () => {
    // 10:30 UTC is 19:30 at UTC+9: outside 9-17 there
    fails(() => checkTimeWindow({ hours: [9, 17], utcOffsetMinutes: 540 }, () => MON_1030), 'time:hours');
    // 10:30 UTC Monday is still Sunday 23:30 at UTC-11
    fails(() => checkTimeWindow({ days: [1], utcOffsetMinutes: -660 }, () => MON_1030), 'time:days');
  });
  it('rejects before notBefore and at notAfter', () => {
    fails(() => checkTimeWindow({ notBefore: MON_1030 + 1 }, () => MON_1030), 'time:notBefore');
    fails(() => checkTimeWindow({ notAfter: MON_1030 }, () => MON_1030), 'time:notAfter');
  });
  it('rejects a weekend day', () => {
    fails(() => checkTimeWindow({ days: [0, 6] }, () => MON_1030), 'time:days');
  });
});

describe('evaluateConditions', () => {
  it('checks all present parts and names the failing one', () => {
    const c = {
      ipRanges: ['10.0.0.0/8'],
      posture: { managed: true },
      time: { hours: [9, 17] as [number, number] },
    };
    evaluateConditions(c, { ip: '10.0.0.9', device: { managed: true } }, () => MON_1030);
    fails(
      () => evaluateConditions(c, { ip: '10.0.0.9', device: { managed: false } }, () => MON_1030),
      'posture:managed',
    );
  });
});

describe('conditions from token claims', () => {
  const now = () => MON_1030;
  it('evaluates the ctx claim and ignores a token without one', () => {
    checkClaimConditions({ sub: 'a' }, {}, { clock: now });
    checkClaimConditions(
      { ctx: { ip: ['10.0.0.0/8'], posture: { managed: true }, time: { hours: [9, 17] } } },
      { ip: '10.2.3.4', device: { managed: true } },
      { clock: now },
    );
    fails(
      () => checkClaimConditions({ ctx: { ip: ['10.0.0.0/8'] } }, { ip: '11.0.0.1' }, { clock: now }),
      'ip',
    );
  });
  it('fails closed on a malformed ctx claim', () => {
    fails(() => checkClaimConditions({ ctx: 'x' }, {}, { clock: now }), 'malformed');
    fails(() => checkClaimConditions({ ctx: { geo: 'eu' } }, {}, { clock: now }), 'malformed');
    fails(
      () => checkClaimConditions({ ctx: { ip: ['999.0.0.0/8'] } }, { ip: '1.1.1.1' }, { clock: now }),
      'malformed',
    );
    fails(() => checkClaimConditions({ ctx: { time: { hours: [17, 9] } } }, {}, { clock: now }), 'malformed');
  });
});
