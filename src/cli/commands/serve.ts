import path from 'node:path';
import type { Command } from 'commander';
import { ServerConfigError } from '../../errors/server.js';
import { buildServer } from '../../server/app.js';
import { loadConfig, type ServerConfig } from '../../server/config.js';
import { AuthorityKeyring } from '../../server/keyring.js';
import { action, intOption, print } from '../io.js';

interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  dataDir?: string;
  issuer?: string;
}

/** Flags override the environment, which overrides the config file (see docs/config.md). */
export function configFromOptions(o: ServeOptions): ServerConfig {
  const overrides: Partial<ServerConfig> = {};
  if (o.port !== undefined) overrides.port = intOption(o.port, '--port', 0, 65535);
  if (o.host !== undefined) overrides.host = o.host;
  if (o.dataDir !== undefined) overrides.dataDir = o.dataDir;
  if (o.issuer !== undefined) overrides.issuer = o.issuer;
  return loadConfig({ ...(o.config !== undefined ? { file: o.config } : {}), overrides });
}

/** After a stop signal, in-flight requests get this long to finish before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function serve(o: ServeOptions): Promise<void> {
  const config = configFromOptions(o);
  const app = await buildServer(config);
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    await app.close();
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES')
      throw new ServerConfigError(
        `cannot listen on ${config.host}:${config.port} (${code}): choose another --port or --host`,
      );
    throw e;
  }
  app.log.info({ issuer: app.authority.issuer, dataDir: config.dataDir }, 'offtoken authority listening');
  if (config.logLevel === 'silent') process.stdout.write(`offtoken authority listening on ${address}\n`);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    // in-flight requests finish; new ones get 503 (return503OnClosing); then the database closes
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

function serveOptions(c: Command): Command {
  return c
    .option(
      '--config <file>',
      'JSON config file (default ./offtoken.config.json, then ./.offtoken/config.json)',
    )
    .option('--port <port>', 'port to listen on (default 8787; env OFFTOKEN_PORT)')
    .option('--host <host>', 'address to bind (default 127.0.0.1; env OFFTOKEN_HOST)')
    .option('--data-dir <dir>', 'database and keyring directory (default ./.offtoken; env OFFTOKEN_DATA_DIR)')
    .option('--issuer <url>', 'issuer URL (default http://HOST:PORT; env OFFTOKEN_ISSUER)');
}

interface RotateOptions {
  config?: string;
  dataDir?: string;
  json?: boolean;
}

/**
 * Rotates the authority's signing key in place: a new active key, the previous one kept verify-only for
 * max(accessTokenTtl, 1 day) + 60 s. A running server reloads keyring.json within a second (no restart, no
 * token stops verifying).
 */
function rotateKey(o: RotateOptions): void {
  const cfg = loadConfig({
    ...(o.config !== undefined ? { file: o.config } : {}),
    overrides: o.dataDir !== undefined ? { dataDir: o.dataDir } : {},
  });
  const ring = AuthorityKeyring.openExisting(path.join(cfg.dataDir, 'keyring.json'));
  const now = Math.floor(Date.now() / 1000);
  const previous = ring.activeKeyId;
  const overlap = Math.max(cfg.accessTokenTtl, 86400) + 60;
  const active = ring.rotate(now, overlap);
  print(
    o.json
      ? { active, previous, previous_verify_only_until: now + overlap }
      : `active signing key ${active}; ${previous} verifies until ${new Date((now + overlap) * 1000).toISOString()}`,
    o.json,
  );
}

export function register(program: Command): void {
  const authority = program
    .command('authority')
    .description("The authority service's own signing keyring (in --data-dir, default ./.offtoken)");
  authority
    .command('rotate-key')
    .description(
      'Make a fresh signing key active; the old one stays in the JWKS as verify-only (a running server picks this up within a second)',
    )
    .option('--config <file>', 'server config file (for its dataDir and accessTokenTtl)')
    .option('--data-dir <dir>', 'authority data directory (default ./.offtoken)')
    .option('--json', 'JSON output')
    .action(action(rotateKey));

  serveOptions(
    program
      .command('serve')
      .description(
        'Run the authority service: JWKS, RFC 8414 metadata, /token (jwt-bearer, client_credentials, token exchange), /introspect, /revoke, /status-lists/:id',
      ),
  ).action(action(serve));
  serveOptions(
    program.command('start').description('Same as serve, with the defaults (what `npm start` runs)'),
  ).action(action(serve));
}
