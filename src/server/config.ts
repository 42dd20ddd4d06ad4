import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type CelBudget, celBudget } from '../cel/budget.js';
import { ServerConfigError } from '../errors/server.js';
import type { PolicyConfig } from '../federation/cel.js';
import type { AuthorityAlg } from '../status-list/jws.js';
import { checkAudienceList, checkScopeList } from './policy.js';

/** An external OIDC identity provider trusted for RFC 8693 token exchange. */
export interface OidcProviderConfig extends PolicyConfig {
  type: 'oidc';
  /** Expected `iss` of subject tokens. */
  issuer: string;
  /** Inline public JWKS (offline) ... */
  jwks?: { keys: Record<string, unknown>[] };
  /** ... or a JWKS URL, fetched only because the operator configured it. */
  jwks_uri?: string;
  /** The subject token's `aud` must contain one of these. */
  audiences: string[];
  /** CEL: output claim name -> expression over `assertion` (the external claims). `subject` is required. */
  attribute_mapping: Record<string, string>;
  /** CEL boolean over `assertion`; false rejects the exchange. */
  attribute_condition?: string;
  /** Each subject token is exchanged once (by its `jti`, remembered until its `exp`). */
  single_use?: boolean;
}

/** An external SAML 2.0 IdP trusted for token exchange (`subject_token_type` saml2, base64url assertion). */
export interface SamlProviderConfigFile extends PolicyConfig {
  type: 'saml';
  /** Expected `<Issuer>`. */
  issuer: string;
  /** The IdP signing certificate (or SPKI public key), PEM. */
  cert: string;
  audiences: string[];
  attribute_mapping: Record<string, string>;
  attribute_condition?: string;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Where the SQLite database and the keyring live (created on first run). */
  dataDir: string;
  /** This authority's issuer URL; when unset, `http://HOST:PORT` of the listening socket. */
  issuer?: string;
  signingAlg: AuthorityAlg;
  /** Lifetime of issued access tokens, seconds. */
  accessTokenTtl: number;
  /** Default `aud` of issued access tokens when the request names none. */
  defaultAudience?: string;
  /** Max request body, bytes. */
  bodyLimit: number;
  /** The whole request (headers and body) must arrive within this many ms, else 408 and the socket closes. */
  requestTimeout: number;
  /** An idle keep-alive socket (no request in progress) is closed after this many ms. */
  keepAliveTimeout: number;
  /** Connections beyond this many open at once are closed on accept. */
  maxConnections: number;
  logLevel: string;
  statusList: { bits: 1 | 2; size: number; ttl: number };
  /**
   * Client ids allowed to call POST /otp/verify; unset = every registered client. Five wrong codes lock a
   * credential, so a client that may verify can also lock its user out (docs/service.md "Design notes").
   */
  otpVerifyClients?: string[];
  federation: {
    providers: (OidcProviderConfig | SamlProviderConfigFile)[];
    /** The budget every mapping and condition is evaluated under (docs/config.md, "CEL budget"). */
    cel_budget?: CelBudgetConfig;
  };
}

/** `federation.cel_budget` in the config file: any subset, the rest from DEFAULT_CEL_BUDGET. */
export interface CelBudgetConfig {
  max_cost?: number;
  max_comprehension_depth?: number;
  max_nodes?: number;
  max_value_size?: number;
}

const CEL_BUDGET_KEYS: Record<string, keyof CelBudget> = {
  max_cost: 'maxCost',
  max_comprehension_depth: 'maxComprehensionDepth',
  max_nodes: 'maxNodes',
  max_value_size: 'maxValueSize',
};

/** `federation.cel_budget` (snake_case in the file) to a validated CelBudget; ERR_SERVER_CONFIG otherwise. */
export function celBudgetFromConfig(c: CelBudgetConfig | undefined): CelBudget {
  if (c === undefined) return celBudget();
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw new ServerConfigError('federation.cel_budget must be an object');
  const partial: Partial<CelBudget> = {};
  for (const [k, v] of Object.entries(c)) {
    const name = CEL_BUDGET_KEYS[k];
    if (!name) throw new ServerConfigError(`unknown config key federation.cel_budget.${k}`);
    partial[name] = v as number;
  }
  try {
    return celBudget(partial);
  } catch (e) {
    throw new ServerConfigError(`federation.cel_budget: ${(e as Error).message}`);
  }
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 8787,
  dataDir: '.offtoken',
  signingAlg: 'EdDSA',
  accessTokenTtl: 300,
  bodyLimit: 64 * 1024,
  requestTimeout: 15_000,
  keepAliveTimeout: 5_000,
  maxConnections: 512,
  logLevel: 'info',
  statusList: { bits: 1, size: 131072, ttl: 300 },
  federation: { providers: [] },
};

const KEYS = new Set([
  'host',
  'port',
  'dataDir',
  'issuer',
  'signingAlg',
  'accessTokenTtl',
  'defaultAudience',
  'bodyLimit',
  'requestTimeout',
  'keepAliveTimeout',
  'maxConnections',
  'logLevel',
  'statusList',
  'otpVerifyClients',
  'federation',
]);

const PROVIDER_KEYS = [
  'type',
  'issuer',
  'audiences',
  'attribute_mapping',
  'attribute_condition',
  'allowed_scopes',
  'default_scopes',
  'allowed_audiences',
];
const OIDC_PROVIDER_KEYS = new Set([...PROVIDER_KEYS, 'jwks', 'jwks_uri', 'single_use']);
// single_use is named here so that it gets its own message (OIDC only) rather than "unknown key"
const SAML_PROVIDER_KEYS = new Set([...PROVIDER_KEYS, 'cert', 'single_use']);

/** Claims the authority sets itself (RFC 9068 2.2, RFC 8693 4, status list): a mapping may not produce them. */
const RESERVED_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'client_id',
  'scope',
  'act',
  'may_act',
  'cnf',
  'status',
  'auth_time',
]);

function int(v: unknown, name: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max)
    throw new ServerConfigError(`${name} must be an integer between ${min} and ${max}`);
  return n;
}

/** Validates a partial config over the defaults; unknown keys are rejected so a typo is not silently ignored. */
export function resolveConfig(partial: Partial<ServerConfig> & Record<string, unknown>): ServerConfig {
  for (const k of Object.keys(partial))
    if (!KEYS.has(k)) throw new ServerConfigError(`unknown config key ${k}`);
  const c: ServerConfig = {
    ...DEFAULT_CONFIG,
    ...partial,
    statusList: { ...DEFAULT_CONFIG.statusList, ...(partial.statusList ?? {}) },
    federation: {
      providers: partial.federation?.providers ?? [],
      ...(partial.federation?.cel_budget !== undefined ? { cel_budget: partial.federation.cel_budget } : {}),
    },
  };
  celBudgetFromConfig(c.federation.cel_budget);
  c.port = int(c.port, 'port', 0, 65535);
  c.accessTokenTtl = int(c.accessTokenTtl, 'accessTokenTtl', 1, 86400);
  // at least 4 KiB: an issued token must fit in a /revoke or /introspect body beside a client assertion
  c.bodyLimit = int(c.bodyLimit, 'bodyLimit', 4096, 16 * 1024 * 1024);
  c.requestTimeout = int(c.requestTimeout, 'requestTimeout', 100, 300_000);
  c.keepAliveTimeout = int(c.keepAliveTimeout, 'keepAliveTimeout', 100, 600_000);
  c.maxConnections = int(c.maxConnections, 'maxConnections', 1, 1_000_000);
  c.statusList.size = int(c.statusList.size, 'statusList.size', 8, 16 * 1024 * 1024);
  c.statusList.ttl = int(c.statusList.ttl, 'statusList.ttl', 1, 86400);
  if (c.statusList.bits !== 1 && c.statusList.bits !== 2)
    throw new ServerConfigError('statusList.bits must be 1 or 2');
  if (c.signingAlg !== 'EdDSA' && c.signingAlg !== 'ES256')
    throw new ServerConfigError('signingAlg must be EdDSA or ES256');
  if (typeof c.host !== 'string' || c.host === '') throw new ServerConfigError('host must be a string');
  if (typeof c.dataDir !== 'string' || c.dataDir === '')
    throw new ServerConfigError('dataDir must be a string');
  if (c.issuer !== undefined && !/^https?:\/\/[^\s/]+/.test(c.issuer))
    throw new ServerConfigError('issuer must be an http(s) URL');
  if (c.issuer?.endsWith('/')) c.issuer = c.issuer.slice(0, -1);
  if (
    c.otpVerifyClients !== undefined &&
    (!Array.isArray(c.otpVerifyClients) ||
      c.otpVerifyClients.length > 1000 ||
      !c.otpVerifyClients.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 128))
  )
    throw new ServerConfigError('otpVerifyClients must be a list of client ids');
  if (!Array.isArray(c.federation.providers))
    throw new ServerConfigError('federation.providers must be an array');
  for (const p of c.federation.providers) {
    if (p.type !== 'oidc' && p.type !== 'saml')
      throw new ServerConfigError('federation provider type must be oidc or saml');
    // a misspelt key would silently drop a restriction (allowed_scopes, single_use ...): refuse it
    const known = p.type === 'oidc' ? OIDC_PROVIDER_KEYS : SAML_PROVIDER_KEYS;
    for (const k of Object.keys(p))
      if (!known.has(k))
        throw new ServerConfigError(
          `unknown key ${k.slice(0, 64)} in ${p.type} provider ${String(p.issuer)}`,
        );
    if (typeof p.issuer !== 'string') throw new ServerConfigError('federation provider needs an issuer');
    if (p.type === 'oidc' && !p.jwks && !p.jwks_uri)
      throw new ServerConfigError(`provider ${p.issuer} needs jwks or jwks_uri`);
    if (p.type === 'saml' && typeof p.cert !== 'string')
      throw new ServerConfigError(`provider ${p.issuer} needs cert`);
    if (!Array.isArray(p.audiences) || p.audiences.length === 0)
      throw new ServerConfigError(`provider ${p.issuer} needs at least one audience`);
    if (typeof p.attribute_mapping?.subject !== 'string')
      throw new ServerConfigError(`provider ${p.issuer} needs attribute_mapping.subject`);
    for (const name of Object.keys(p.attribute_mapping))
      if (RESERVED_CLAIMS.has(name))
        throw new ServerConfigError(
          `provider ${p.issuer}: attribute_mapping.${name} would overwrite a registered claim of the issued token`,
        );
    checkProviderPolicy(p);
  }
  return c;
}

/**
 * A provider's token policy (docs/config.md): static lists are checked here, CEL expressions are compiled when
 * the provider is loaded. Absent lists are allowed (deny-by-default at /token, naming the key to set).
 */
function checkProviderPolicy(p: OidcProviderConfig | SamlProviderConfigFile): void {
  const fail = (m: string) => new ServerConfigError(`provider ${p.issuer}: ${m}`);
  const isCel = (v: unknown) => typeof v === 'string';
  if (p.allowed_scopes !== undefined && !isCel(p.allowed_scopes))
    p.allowed_scopes = checkScopeList(p.allowed_scopes, 'allowed_scopes', fail);
  if (p.default_scopes !== undefined && !isCel(p.default_scopes))
    p.default_scopes = checkScopeList(p.default_scopes, 'default_scopes', fail);
  if (p.allowed_audiences !== undefined && !isCel(p.allowed_audiences))
    p.allowed_audiences = checkAudienceList(p.allowed_audiences, 'allowed_audiences', fail);
  if (Array.isArray(p.default_scopes) && Array.isArray(p.allowed_scopes)) {
    const allowed = p.allowed_scopes;
    const outside = p.default_scopes.find((x) => !allowed.includes(x));
    if (outside !== undefined) throw fail(`default_scopes ${outside} is not in allowed_scopes`);
  }
  if ('single_use' in p && p.single_use !== undefined) {
    if (p.type !== 'oidc') throw fail('single_use is supported for OIDC providers only');
    if (typeof p.single_use !== 'boolean') throw fail('single_use must be true or false');
  }
}

/**
 * Loads the config: defaults, then the JSON file (`--config FILE`, else `offtoken.config.json`, else
 * `.offtoken/config.json`), then OFFTOKEN_* environment overrides, then explicit (CLI flag) overrides.
 */
export function loadConfig(
  opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Partial<ServerConfig>; cwd?: string } = {},
): ServerConfig {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  let fileConfig: Record<string, unknown> = {};
  const candidates = opts.file
    ? [path.resolve(cwd, opts.file)]
    : [path.join(cwd, 'offtoken.config.json'), path.join(cwd, '.offtoken', 'config.json')];
  for (const f of candidates) {
    if (!existsSync(f)) {
      if (opts.file) throw new ServerConfigError(`config file ${opts.file} does not exist`);
      continue;
    }
    const text = readFileSync(f, 'utf8');
    if (text.length > 1024 * 1024) throw new ServerConfigError('config file exceeds 1 MiB');
    try {
      fileConfig = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ServerConfigError(`config file ${f} is not valid JSON`);
    }
    if (typeof fileConfig !== 'object' || fileConfig === null || Array.isArray(fileConfig))
      throw new ServerConfigError('config file must hold a JSON object');
    break;
  }
  const envConfig: Record<string, unknown> = {};
  if (env.OFFTOKEN_PORT) envConfig.port = env.OFFTOKEN_PORT;
  if (env.OFFTOKEN_HOST) envConfig.host = env.OFFTOKEN_HOST;
  if (env.OFFTOKEN_DATA_DIR) envConfig.dataDir = env.OFFTOKEN_DATA_DIR;
  if (env.OFFTOKEN_ISSUER) envConfig.issuer = env.OFFTOKEN_ISSUER;
  if (env.OFFTOKEN_LOG_LEVEL) envConfig.logLevel = env.OFFTOKEN_LOG_LEVEL;
  if (env.OFFTOKEN_ACCESS_TOKEN_TTL) envConfig.accessTokenTtl = env.OFFTOKEN_ACCESS_TOKEN_TTL;
  if (env.OFFTOKEN_REQUEST_TIMEOUT) envConfig.requestTimeout = env.OFFTOKEN_REQUEST_TIMEOUT;
  if (env.OFFTOKEN_KEEP_ALIVE_TIMEOUT) envConfig.keepAliveTimeout = env.OFFTOKEN_KEEP_ALIVE_TIMEOUT;
  if (env.OFFTOKEN_MAX_CONNECTIONS) envConfig.maxConnections = env.OFFTOKEN_MAX_CONNECTIONS;
  const merged = { ...fileConfig, ...envConfig, ...(opts.overrides ?? {}) };
  const c = resolveConfig(merged as Partial<ServerConfig> & Record<string, unknown>);
  c.dataDir = path.resolve(cwd, c.dataDir);
  return c;
}
