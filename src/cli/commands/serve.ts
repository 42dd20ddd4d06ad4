import type { Command } from 'commander';
import { ServerConfigError } from '../../errors/server.js';
import { loadConfig, type ServerConfig } from '../../server/config.js';
import { action, configOption, intOption } from '../io.js';

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
  return loadConfig({ ...configOption(o.config), overrides });
}

/** After a stop signal, in-flight requests get this long to finish before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function serve(o: ServeOptions): Promise<void> {
  const config = configFromOptions(o);
  // Fastify and the routes load only for the service, so every other command starts fast.
  const { buildServer } = await import('../../server/app.js');
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

export function register(program: Command): void {
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
