/**
 * RFC 9449 4.3 (check 9): `htu` is compared without query and fragment, after RFC 3986 6.2.2/6.2.3
 * normalisation. The WHATWG URL parser lower-cases scheme and host, drops the default port, resolves
 * dot segments and normalises percent-encoding case, which covers syntax- and scheme-based normalisation.
 */
export function normalizeHtu(u: string): string | undefined {
  if (typeof u !== 'string' || u.length > 4096) return undefined;
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  // Percent-encoded unreserved characters are equivalent to the characters (RFC 3986 6.2.2.2).
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (m, h: string) => {
    const c = String.fromCharCode(Number.parseInt(h, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : m.toUpperCase();
  });
  return `${url.protocol}//${url.host}${path}`;
}
