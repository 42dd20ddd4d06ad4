import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { cliInvocation, startBanner } from '../../src/cli/banner.js';
import { startupOutput } from '../../src/cli/commands/serve.js';
import { formatLogLine, prettyLogStream } from '../../src/server/log-format.js';
import { startServer } from './helpers.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Collects the server's log lines (pino JSON). */
function logSink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { stream, lines };
}

/** Waits for a condition, up to `seconds` (a process started through tsx on a busy machine is slow). */
async function until(cond: () => boolean, what: string, seconds = 10): Promise<void> {
  for (let i = 0; i < seconds * 40; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('startupOutput: what the first screen shows', () => {
  it('shows the banner and pretty logs on a terminal', () => {
    assert.deepEqual(startupOutput(true), { banner: true, logFormat: 'pretty' });
  });
  it('shows no banner and JSON logs when stdout is not a terminal', () => {
    assert.deepEqual(startupOutput(false), { banner: false, logFormat: 'json' });
  });
  it('--log-format json on a terminal keeps the banner and logs JSON', () => {
    assert.deepEqual(startupOutput(true, 'json'), { banner: true, logFormat: 'json' });
  });
  it('--log-format pretty forces the readable lines into a pipe, without the banner', () => {
    assert.deepEqual(startupOutput(false, 'pretty'), { banner: false, logFormat: 'pretty' });
  });
  it('rejects an unknown --log-format with ERR_USAGE', () => {
    assert.throws(() => startupOutput(true, 'xml'), { code: 'ERR_USAGE' });
  });
});

describe('the start banner', () => {
  const info = {
    address: 'http://127.0.0.1:8787',
    issuer: 'http://127.0.0.1:8787',
    dataDir: '/srv/app/.offtoken',
    audience: 'http://127.0.0.1:8787',
    signingAlg: 'EdDSA',
    cli: 'node dist/cli/main.js',
    cwd: '/srv/app',
  };

  it('names the address, the data directory, the JWKS and metadata URLs and the next three commands', () => {
    const text = startBanner(info);
    assert.match(text, /listening on http:\/\/127\.0\.0\.1:8787\n/);
    assert.match(text, /data directory +\/srv\/app\/\.offtoken\n/);
    assert.match(text, /JWKS +http:\/\/127\.0\.0\.1:8787\/\.well-known\/jwks\.json\n/);
    assert.match(text, /metadata +http:\/\/127\.0\.0\.1:8787\/\.well-known\/oauth-authorization-server\n/);
    assert.match(text, /offtoken\(\) \{ node dist\/cli\/main\.js "\$@"; \}/);
    assert.match(
      text,
      /offtoken service-account create --out sa\.json --token-uri http:\/\/127\.0\.0\.1:8787\/token\n/,
    );
    assert.match(
      text,
      /offtoken clients add --service-account sa\.json --audience http:\/\/127\.0\.0\.1:8787\n/,
    );
    assert.match(text, /offtoken service-account token --key sa\.json --assertion/);
    assert.match(
      text,
      /offtoken jwt verify "\$TOKEN" --jwks jwks\.json --alg EdDSA --typ at\+jwt --iss http:\/\/127\.0\.0\.1:8787\n/,
    );
  });

  it('names a data directory other than the default in clients add, quoted for the shell', () => {
    const text = startBanner({ ...info, dataDir: '/var/lib/my authority' });
    assert.match(text, /--audience http:\/\/127\.0\.0\.1:8787 --data-dir '\/var\/lib\/my authority'\n/);
    assert.match(startBanner({ ...info, dataDir: '/srv/app/data' }), / --data-dir data\n/);
  });

  it('uses the installed bin as it is, and the script path otherwise', () => {
    assert.doesNotMatch(startBanner({ ...info, cli: 'offtoken' }), /offtoken\(\)/);
    assert.equal(cliInvocation('/usr/local/bin/offtoken', '/srv/app'), 'offtoken');
    assert.equal(cliInvocation('/srv/app/dist/cli/main.js', '/srv/app'), 'node dist/cli/main.js');
  });
});

describe('pretty log lines', () => {
  it('prints a request as method, path, status and time', () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1, 12, 0, 1, 234),
      pid: 1,
      hostname: 'h',
      reqId: 'req-7',
      method: 'POST',
      url: '/token',
      status: 400,
      ms: 3.1,
      msg: 'request',
    });
    assert.equal(formatLogLine(line, false), '12:00:01.234 INFO  POST /token 400 3.1 ms (req-7)\n');
  });

  it('prints other fields as key=value and an error with its stack, indented', () => {
    const out = formatLogLine(
      JSON.stringify({
        level: 50,
        time: 0,
        msg: 'keyring could not be reloaded',
        active: 'k1',
        err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
      }),
      false,
    );
    assert.equal(
      out,
      '00:00:00.000 ERROR keyring could not be reloaded active=k1\n    Error: boom\n        at x\n',
    );
  });

  it('escapes control characters, so a logged value cannot forge a line or drive the terminal', () => {
    const out = formatLogLine(
      JSON.stringify({ level: 30, time: 0, msg: 'a\nb\x1b[31m', path: '/x\r\ny', c1: '\x9b2J' }),
      false,
    );
    assert.equal(out.split('\n').length, 2);
    for (const c of ['\x1b', '\r', '\x9b']) assert.ok(!out.includes(c), JSON.stringify(c));
    assert.match(out, /a\\u000ab\\u001b\[31m/);
  });

  it('passes a line that is not JSON through, escaped', () => {
    assert.equal(formatLogLine('not json\x1b', false), 'not json\\u001b\n');
  });

  it('colours only a terminal, and not with NO_COLOR', () => {
    const written: string[] = [];
    const out = Object.assign(
      new Writable({
        write(c, _e, cb) {
          written.push(String(c));
          cb();
        },
      }),
      { isTTY: true },
    );
    const line = `${JSON.stringify({ level: 30, time: 0, msg: 'hi' })}\n`;
    prettyLogStream(out, {}).write(line);
    prettyLogStream(out, { NO_COLOR: '1' }).write(line);
    assert.ok(written[0]?.includes('\x1b[32mINFO'), written[0]);
    assert.equal(written[1], '00:00:00.000 INFO  hi\n');
  });
});

describe('request logging', () => {
  it('writes one info line per request, with method, path, status and ms, and no query string', async () => {
    const log = logSink();
    const s = await startServer({ logLevel: 'info' }, { logStream: log.stream });
    try {
      const secret = 'eyJhbGciOiJFZERTQSJ9.c2VjcmV0.c2ln';
      await (await fetch(`${s.base}/.well-known/jwks.json`)).arrayBuffer();
      await (
        await fetch(`${s.base}/token?assertion=${secret}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=password',
        })
      ).arrayBuffer();
      await (await fetch(`${s.base}/no/such/route?code=123456`)).arrayBuffer();
      await until(() => log.lines.filter((l) => l.reqId !== undefined).length >= 3, 'three request lines');
      const perRequest = log.lines.filter((l) => l.reqId !== undefined);
      assert.deepEqual(
        perRequest.map((l) => [l.level, l.msg, l.method, l.url, l.status]),
        [
          [30, 'request', 'GET', '/.well-known/jwks.json', 200],
          [30, 'request', 'POST', '/token', 400],
          [30, 'request', 'GET', '/no/such/route', 404],
        ],
      );
      for (const l of perRequest) assert.equal(typeof l.ms, 'number');
      const text = JSON.stringify(log.lines);
      assert.doesNotMatch(text, /incoming request|request completed/);
      assert.ok(!text.includes(secret), 'the query string (a token) is not logged');
      assert.ok(!text.includes('123456'));
    } finally {
      await s.close();
    }
  });

  it('cuts an over-long path in the log line', async () => {
    const log = logSink();
    const s = await startServer({ logLevel: 'info' }, { logStream: log.stream });
    try {
      await (await fetch(`${s.base}/${'a'.repeat(5000)}`)).arrayBuffer();
      await until(() => log.lines.some((l) => l.msg === 'request'), 'the request line');
      const line = log.lines.find((l) => l.msg === 'request') as { url: string };
      assert.equal(line.url, `/${'a'.repeat(199)}...`);
    } finally {
      await s.close();
    }
  });
});

describe('GET /', () => {
  it('answers a JSON index of the endpoints', async () => {
    const s = await startServer();
    try {
      const r = await fetch(`${s.base}/`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await r.json()) as {
        issuer: string;
        metadata: string;
        endpoints: { method: string; url: string }[];
      };
      assert.equal(body.issuer, s.base);
      assert.equal(body.metadata, `${s.base}/.well-known/oauth-authorization-server`);
      const listed = body.endpoints.map((e) => `${e.method} ${e.url}`);
      for (const e of [
        `GET ${s.base}/.well-known/jwks.json`,
        `POST ${s.base}/token`,
        `POST ${s.base}/introspect`,
        `POST ${s.base}/revoke`,
        `POST ${s.base}/otp/verify`,
        `GET ${s.base}/status-lists/{id}`,
      ])
        assert.ok(listed.includes(e), `${e} in ${listed.join(', ')}`);
      // every listed GET endpoint without a parameter answers
      for (const e of body.endpoints.filter((x) => x.method === 'GET' && !x.url.includes('{')))
        assert.equal((await fetch(e.url)).status, 200, e.url);
    } finally {
      await s.close();
    }
  });
});

/** Runs `offtoken start` from source on port 0 in a fresh directory; resolves with the child and its output. */
function startProcess(argv: string[], extra: string[] = []): ChildProcessWithoutNullStreams {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
  return spawn(argv[0] as string, [...argv.slice(1), ...extra], {
    cwd: root,
    env: { ...process.env, OFFTOKEN_DATA_DIR: path.join(dir, 'data'), NO_COLOR: '1' },
  });
}

const children: ChildProcessWithoutNullStreams[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

async function runUntil(
  child: ChildProcessWithoutNullStreams,
  done: (out: string) => boolean,
  act?: (out: string) => Promise<void>,
): Promise<string> {
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await until(
    () => /offtoken authority listening/.test(out) || child.exitCode !== null,
    'the listening line',
    60,
  );
  await act?.(out);
  await until(() => done(out) || child.exitCode !== null, 'the expected output', 30);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return out;
}

const fromSource = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'start', '--port', '0'];

describe('offtoken start, not on a terminal', () => {
  it('prints JSON lines only (no banner), one per request', async () => {
    const child = startProcess(fromSource);
    const out = await runUntil(
      child,
      (o) => /"msg":"request"/.test(o),
      async (o) => {
        const url = (/"issuer":"(http:\/\/[^"]+)"/.exec(o) as RegExpExecArray)[1] as string;
        await (await fetch(`${url}/`)).arrayBuffer();
      },
    );
    const lines = out.split('\n').filter((l) => l !== '');
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not a JSON line: ${l}`);
    assert.doesNotMatch(out, /Next, in a second terminal/);
    assert.equal(lines.filter((l) => /"url":"\/"/.test(l)).length, 1);
  });

  it('--log-format pretty prints readable lines', async () => {
    const child = startProcess(fromSource, ['--log-format', 'pretty']);
    const out = await runUntil(child, (o) => /INFO {2}offtoken authority listening issuer=/.test(o));
    assert.doesNotMatch(out, /^\{/m);
  });
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux');

describe('offtoken start on a terminal (script(1) gives it a pty)', {
  skip: hasScript ? false : 'needs script(1) from util-linux',
}, () => {
  const command = (extra: string) => [
    'script',
    '-qfec',
    `${fromSource.map((a) => `'${a}'`).join(' ')} ${extra}`,
    '/dev/null',
  ];

  it('prints the banner, then readable log lines, one per request', async () => {
    const out = await runUntil(
      startProcess(command('')),
      (o) => /GET \/ 200 [\d.]+ ms/.test(o),
      async (o) => {
        const url = (/listening on (http:\/\/[\d.:]+)/.exec(o) as RegExpExecArray)[1] as string;
        await (await fetch(`${url}/`)).arrayBuffer();
      },
    );
    assert.match(out, /offtoken authority listening on http:\/\/127\.0\.0\.1:\d+\r?\n/);
    assert.match(out, /JWKS +http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json/);
    assert.match(
      out,
      /offtoken clients add --service-account sa\.json --audience http:\/\/127\.0\.0\.1:\d+ --data-dir /,
    );
    assert.match(out, /INFO .*offtoken authority listening/);
    assert.doesNotMatch(out, /incoming request|request completed|"level"/);
  });

  it('--log-format json keeps the banner and logs JSON lines', async () => {
    const out = await runUntil(startProcess(command('--log-format json')), (o) =>
      /"msg":"offtoken authority listening"/.test(o),
    );
    assert.match(out, /Next, in a second terminal/);
    assert.match(out, /^\{"level":30,.*"msg":"offtoken authority listening"\}\r?$/m);
  });
});
