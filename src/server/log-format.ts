/**
 * The authority's log on a terminal: pino writes one JSON object per line; `prettyLogStream` turns each into one
 * readable line (`12:00:01.234 INFO  POST /token 200 3.1 ms`). JSON stays the format for files, pipes and log
 * collectors (`--log-format json`); the pretty form is for a person watching `npm start`.
 */

export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** The format when none is asked for: pretty only when a person is reading the output. */
export function defaultLogFormat(isTty: boolean): LogFormat {
  return isTty ? 'pretty' : 'json';
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};

/** pino's own fields, shown in the line's fixed parts or not at all. */
const SKIPPED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v', 'reqId', 'err']);

/** A log line longer than this (a huge error object) is cut: a terminal line must stay readable. */
const MAX_LINE = 4096;

/**
 * Control characters (ANSI escapes, newlines, carriage returns) in a logged value could rewrite the operator's
 * terminal or forge log lines: every value is printed escaped, as JSON does.
 */
function clean(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out +=
      c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029
        ? `\\u${c.toString(16).padStart(4, '0')}`
        : ch;
  }
  return out;
}

/** Simple strings as they are; anything else as JSON (C1 controls, which JSON leaves as they are, escaped). */
function value(v: unknown): string {
  if (typeof v === 'string' && /^[\w.:/@+-]+$/.test(v)) return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return clean(JSON.stringify(v) ?? String(v));
}

/** Formats one pino JSON line; a line that is not a JSON object is passed through, escaped. */
export function formatLogLine(line: string, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    o = parsed as Record<string, unknown>;
  } catch {
    return `${clean(line.trimEnd()).slice(0, MAX_LINE)}\n`;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '--:--:--.---';
  const [name, code] = LEVELS[o.level as number] ?? [String(o.level).padEnd(5).slice(0, 5), '0'];
  const parts: string[] = [paint('2', time), paint(code, name)];
  const rest = { ...o };
  // the one line per request (app.ts onResponse): method, path, status and time read as a sentence
  if (o.msg === 'request' && typeof o.method === 'string' && typeof o.url === 'string') {
    const status = typeof o.status === 'number' ? o.status : 0;
    parts.push(
      `${clean(o.method)} ${clean(o.url)}`,
      paint(status >= 500 ? '31' : status >= 400 ? '33' : '32', String(status)),
      `${value(o.ms)} ms`,
    );
    for (const k of ['method', 'url', 'status', 'ms']) delete rest[k];
  } else if (typeof o.msg === 'string') parts.push(clean(o.msg));
  for (const [k, v] of Object.entries(rest))
    if (!SKIPPED.has(k) && v !== undefined) parts.push(paint('2', `${clean(k)}=`) + value(v));
  if (typeof o.reqId === 'string') parts.push(paint('2', `(${clean(o.reqId)})`));
  let out = parts.join(' ');
  const err = o.err as { type?: unknown; message?: unknown; stack?: unknown } | undefined;
  if (err && typeof err === 'object') {
    const stack = typeof err.stack === 'string' ? err.stack : `${String(err.type)}: ${String(err.message)}`;
    out += `\n${stack
      .split('\n')
      .map((l) => `    ${clean(l)}`)
      .join('\n')}`;
  }
  return `${out.length > MAX_LINE ? `${out.slice(0, MAX_LINE)}...` : out}\n`;
}

/**
 * A destination for pino (anything with `write`): each JSON line it writes is printed formatted to `out`.
 * Colours only when `out` is a terminal and NO_COLOR is unset (https://no-color.org).
 */
export function prettyLogStream(
  out: NodeJS.WritableStream & { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): { write(chunk: string): boolean } {
  const color = out.isTTY === true && !env.NO_COLOR;
  return {
    write(chunk: string) {
      // pino writes whole lines, one per call; split anyway so that a batched write stays one line per entry
      let text = '';
      for (const line of chunk.split('\n')) if (line !== '') text += formatLogLine(line, color);
      return out.write(text);
    },
  };
}
