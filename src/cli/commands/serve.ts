import type { Command } from 'commander';
import { ServerConfigError } from '../../errors/server.js';
import { loadConfig, type ServerConfig } from '../../server/config.js';
import { defaultLogFormat, LOG_FORMATS, type LogFormat, prettyLogStream } from '../../server/log-format.js';
import { cliInvocation, startBanner } from '../banner.js';
import { action, configOption, dataDirOption, intOption, UsageError } from '../io.js';

interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  dataDir?: string;
  issuer?: string;
  logFormat?: string;
}

/** Where the service writes; a test passes its own to decide "is this a terminal" without one. */
export interface ServeOutput {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * What the first screen shows: on a terminal the banner and pretty log lines, else (a pipe, a file, systemd)
 * JSON lines only. `--log-format` chooses the log format either way; the banner follows the terminal alone.
 */
export function startupOutput(isTty: boolean, logFormat?: string): { banner: boolean; logFormat: LogFormat } {
  if (logFormat !== undefined && !LOG_FORMATS.includes(logFormat as LogFormat))
    throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}`);
  return { banner: isTty, logFormat: (logFormat as LogFormat | undefined) ?? defaultLogFormat(isTty) };
}

/** Flags override the environment, which overrides the config file (see docs/config.md). */
export function configFromOptions(o: ServeOptions): ServerConfig {
  const overrides: Partial<ServerConfig> = {};
  if (o.port !== undefined) overrides.port = intOption(o.port, '--port', 0, 65535);
  if (o.host !== undefined) overrides.host = o.host;
  Object.assign(overrides, dataDirOption(o.dataDir));
  if (o.issuer !== undefined) overrides.issuer = o.issuer;
  return loadConfig({ ...configOption(o.config), overrides });
}

/** After a stop signal, in-flight requests get this long to finish before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function serve(o: ServeOptions, out: ServeOutput = { stdout: process.stdout }): Promise<void> {
  const show = startupOutput(out.stdout.isTTY === true, o.logFormat);
  const config = configFromOptions(o);
  // Fastify and the routes load only for the service, so every other command starts fast.
  const { buildServer } = await import('../../server/app.js');
  const app = await buildServer(
    config,
    show.logFormat === 'pretty' ? { logStream: prettyLogStream(out.stdout) as NodeJS.WritableStream } : {},
  );
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
  if (show.banner)
    out.stdout.write(
      startBanner({
        address,
        issuer: app.authority.issuer,
        dataDir: config.dataDir,
        audience: config.defaultAudience ?? app.authority.issuer,
        signingAlg: config.signingAlg,
        cli: cliInvocation(process.argv[1], process.cwd()),
        cwd: process.cwd(),
      }),
    );
  app.log.info({ issuer: app.authority.issuer, dataDir: config.dataDir }, 'offtoken authority listening');
  if (config.logLevel === 'silent' && !show.banner)
    out.stdout.write(`offtoken authority listening on ${address}\n`);
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
    .option('--issuer <url>', 'issuer URL (default http://HOST:PORT; env OFFTOKEN_ISSUER)')
    .option(
      '--log-format <format>',
      'json (one JSON object per line) or pretty (one readable line); default: pretty on a terminal, else json',
    );
}

export function register(program: Command): void {
  serveOptions(
    program
      .command('serve')
      .description(
        'Run the authority service: JWKS, RFC 8414 metadata, /token (jwt-bearer, client_credentials, token exchange), /introspect, /revoke, /status-lists/:id',
      ),
  ).action(action((o: ServeOptions) => serve(o)));
  serveOptions(
    program.command('start').description('Same as serve, with the defaults (what `npm start` runs)'),
  ).action(action((o: ServeOptions) => serve(o)));
}
