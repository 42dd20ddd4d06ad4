import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyCert {
  key: Buffer;
  cert: Buffer;
}

/**
 * Certificates made in the test with the openssl binary: a CA, a server certificate for 127.0.0.1 and
 * any number of client certificates (P-256). `dispose()` removes the temporary directory.
 */
export function makePki(clients: string[]): {
  dir: string;
  ca: Buffer;
  server: KeyCert;
  clients: Record<string, KeyCert>;
  ossl: (...args: string[]) => Buffer;
  dispose: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'offtoken-pki-'));
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ossl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=offtoken test CA',
    '-days',
    '2',
  );
  const issue = (name: string, cn: string, ext?: string): KeyCert => {
    ossl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key'];
    args.push('-CAcreateserial', '-days', '2', '-out', `${name}.crt`);
    if (ext) {
      writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
      args.push('-extfile', `${name}.ext`);
    }
    ossl(...args);
    return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) };
  };
  const server = issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1');
  const out: Record<string, KeyCert> = {};
  for (const c of clients) out[c] = issue(c, `${c}-client`);
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.crt')),
    server,
    clients: out,
    ossl,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One HTTPS request over a fresh connection (no agent: the client certificate is per call). */
export function httpsCall(
  url: string,
  o: {
    ca: Buffer;
    method?: string;
    client?: KeyCert;
    headers?: Record<string, string>;
    form?: Record<string, string>;
  },
): Promise<HttpsResult> {
  const body = o.form ? new URLSearchParams(o.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method ?? (body ? 'POST' : 'GET'),
        ca: o.ca,
        agent: false,
        ...(o.client ?? {}),
        headers: {
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...(o.headers ?? {}),
        },
      },
      (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          s += d;
        });
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = s ? (JSON.parse(s) as Record<string, unknown>) : {};
          } catch {
            parsed = { text: s };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
