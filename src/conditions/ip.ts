import ipaddr from 'ipaddr.js';
import { InvalidArgumentError } from '../errors/base.js';
import { ConditionFailedError } from '../errors/dpop.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses an address, folding IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what Node reports on dual-stack sockets) to IPv4. */
function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (typeof ip !== 'string' || ip.length > 64 || !ipaddr.isValid(ip)) return undefined;
  const a = ipaddr.parse(ip);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (a as ipaddr.IPv6).toIPv4Address();
  }
  return a;
}

/** Compiles CIDR strings once (a bare address means /32 or /128). Throws ERR_INVALID_ARGUMENT on a bad range. */
export function compileCidrs(cidrs: readonly string[]): Range[] {
  if (!Array.isArray(cidrs) || cidrs.length > 1024)
    throw new InvalidArgumentError('cidrs must be an array of at most 1024 ranges');
  return cidrs.map((c) => {
    try {
      if (typeof c !== 'string' || c.length > 64) throw new Error('bad');
      if (!c.includes('/')) {
        const a = parseAddress(c);
        if (!a) throw new Error('bad');
        return [a, a.kind() === 'ipv4' ? 32 : 128] as Range;
      }
      const [addr, bits] = ipaddr.parseCIDR(c);
      if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96] as Range;
      }
      return [addr, bits] as Range;
    } catch {
      throw new InvalidArgumentError('invalid CIDR range');
    }
  });
}

/** True when `ip` lies in one of the ranges; a malformed address is never inside (fail closed). */
export function ipInRanges(ip: string, ranges: readonly string[] | Range[]): boolean {
  const compiled = (
    ranges.length > 0 && typeof ranges[0] === 'string' ? compileCidrs(ranges as string[]) : ranges
  ) as Range[];
  const a = parseAddress(ip);
  if (!a) return false;
  for (const [net, bits] of compiled) {
    if (net.kind() === a.kind() && a.match(net as never, bits)) return true;
  }
  return false;
}

/** Throws ERR_CONDITION_FAILED (condition `ip`) unless `ip` lies in one of the CIDR ranges. */
export function checkIpCondition(ip: string | undefined, cidrs: readonly string[]): void {
  if (ip === undefined || !ipInRanges(ip, compileCidrs(cidrs))) {
    throw new ConditionFailedError('the client address is outside the allowed ranges', { condition: 'ip' });
  }
}
