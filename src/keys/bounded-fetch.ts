import { InvalidArgumentError, type OfftokenError } from '../errors/base.js';

/**
 * How a caller names its failures: each capability that fetches (a remote JWKS, a status list) reports
 * them with its own codes, so one helper serves both without a shared "network error" code.
 */
export interface FetchErrors {
  /** Connection refused/reset, DNS failure, an unexpected status, a redirect. */
  failed(message: string, cause?: unknown): OfftokenError;
  /** Nothing (headers or the whole body) arrived within the time limit. */
  timeout(message: string, cause?: unknown): OfftokenError;
  /** The body is over the size limit, declared or streamed. */
  tooLarge(message: string): OfftokenError;
}

export interface BoundedFetchOptions {
  /** Abort connect, headers and body after this many milliseconds. */
  timeoutMs: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  headers?: Record<string, string>;
  /** Statuses answered as a result; any other is `failed`. A 304 has no body. */
  accept: readonly number[];
  errors: FetchErrors;
  /** What is fetched, for messages (e.g. `the JWKS`). */
  what: string;
}

export interface BoundedResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

/**
 * One GET of a URL the user configured, bounded in time (one AbortSignal over connect, headers and body)
 * and size (Content-Length checked first, then every streamed chunk), and refusing redirects: a 3xx would
 * let whoever answers the URL send the verifier anywhere, including internal addresses.
 */
export async function boundedFetch(url: URL, opts: BoundedFetchOptions): Promise<BoundedResponse> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers: opts.headers ?? {}, redirect: 'error', signal });
  } catch (e) {
    throw mapFetchError(e, signal, opts);
  }
  if (!opts.accept.includes(res.status)) {
    await res.body?.cancel().catch(() => undefined);
    throw opts.errors.failed(`${opts.what} URL answered HTTP ${res.status}`);
  }
  if (res.status === 304) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, headers: res.headers, body: Buffer.alloc(0) };
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > opts.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw opts.errors.tooLarge(`${opts.what} response exceeds ${opts.maxBytes} bytes`);
  }
  const body = await readBounded(res, signal, opts);
  return { status: res.status, headers: res.headers, body };
}

async function readBounded(res: Response, signal: AbortSignal, opts: BoundedFetchOptions): Promise<Buffer> {
  if (res.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch (e) {
      throw mapFetchError(e, signal, opts);
    }
    if (step.done) break;
    total += step.value.byteLength;
    if (total > opts.maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw opts.errors.tooLarge(`${opts.what} response exceeds ${opts.maxBytes} bytes`);
    }
    chunks.push(step.value);
  }
  return Buffer.concat(chunks, total);
}

function mapFetchError(e: unknown, signal: AbortSignal, opts: BoundedFetchOptions): OfftokenError {
  if (signal.aborted || (e as Error)?.name === 'TimeoutError' || (e as Error)?.name === 'AbortError')
    return opts.errors.timeout(`${opts.what} fetch timed out`, e);
  return opts.errors.failed(`${opts.what} URL cannot be fetched`, e);
}

/** An option of a fetching client (a timeout, a size, an age) that must be a positive number. */
export function positiveOption(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return v;
}

/** An option of a fetching client that may be 0 (a cooldown, a tolerance) but not negative. */
export function nonNegativeOption(v: number, name: string): number {
  if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return v;
}
