import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { KeyfileInvalidError, ServiceAccountInvalidError } from '../../errors/keys.js';
import { ClientRegistryError } from '../../errors/server.js';
import { privateJwkMatchesPublic } from '../../keys/jwk.js';
import type { Jwk } from '../../keys/types.js';
import {
  checkClientPolicy,
  jwksKeys,
  normaliseClientJwk,
  readServiceAccountJwk,
  registerClient,
} from '../../server/clients.js';
import { loadConfig } from '../../server/config.js';
import { AuthorityDb, type ClientPolicy } from '../../server/db.js';
import { notAServiceAccountFile } from '../../service-account/file.js';
import { signCompact } from '../../status-list/jws.js';
import {
  action,
  configOption,
  dataDirOption,
  parseJsonOption,
  print,
  readJwksFile,
  readPrivateFile,
  requireOutputPath,
  UsageError,
} from '../io.js';

interface Common {
  config?: string;
  dataDir?: string;
  json?: boolean;
  /** --force, on the commands that read a service-account file */
  force?: boolean;
}

function openDb(o: Common): AuthorityDb {
  const cfg = loadConfig({
    ...configOption(o.config),
    overrides: dataDirOption(o.dataDir),
  });
  return new AuthorityDb(path.join(cfg.dataDir, 'authority.db'));
}

const now = () => Math.floor(Date.now() / 1000);

interface PolicyFlags {
  scope?: string[];
  defaultScope?: string[];
  audience?: string[];
  resourceServer?: string[];
}

/** The registered lists: a scope, an audience or a resource server per value (repeat the flag or list them). */
function withPolicy(c: Command): Command {
  return c
    .option(
      '--scope <scope...>',
      'scope values the client may request (RFC 6749 3.3; repeatable); without it, no scope at all',
    )
    .option(
      '--default-scope <scope...>',
      'scope issued when a request names none (each one of --scope); without it, no scope',
    )
    .option(
      '--audience <aud...>',
      'audience/resource values the client may request (RFC 8707; repeatable). A request naming none gets ' +
        'the server defaultAudience (else the issuer), which must be listed too. Without it, no access token',
    )
    .option(
      '--resource-server <aud...>',
      "may introspect other clients' tokens issued for this audience (RFC 7662 4; repeatable)",
    );
}

function policyFlags(o: PolicyFlags): ClientPolicy {
  const p: ClientPolicy = {};
  if (o.scope !== undefined) p.scopes = o.scope;
  if (o.defaultScope !== undefined) p.defaultScopes = o.defaultScope;
  if (o.audience !== undefined) p.audiences = o.audience;
  if (o.resourceServer !== undefined) p.resourceServers = o.resourceServer;
  return p;
}

function policyView(p: ClientPolicy): Record<string, unknown> {
  // null: never registered (a client from before the policy: denied until set)
  return {
    scope: p.scopes ?? null,
    default_scope: p.defaultScopes ?? null,
    audience: p.audiences ?? null,
    resource_server: p.resourceServers ?? null,
  };
}

const CLEARABLE: Record<string, keyof ClientPolicy> = {
  scope: 'scopes',
  'default-scope': 'defaultScopes',
  audience: 'audiences',
  'resource-server': 'resourceServers',
};

type AddOptions = Common &
  PolicyFlags & { id?: string; jwks?: string; serviceAccount?: string; generate?: string };

/** An unparsable file counts as private: garbage must not skip the permission check. */
const holdsPrivateKey = (text: string) => {
  try {
    const doc = JSON.parse(text) as unknown;
    return typeof doc !== 'object' || doc === null || 'private_key' in doc;
  } catch {
    return true;
  }
};

/**
 * A service-account file holds a private key, so it is read under the key-file rule (0600, or --force); only
 * its public key is kept. The authority never needs more: a public JWKS (--jwks) carries no such risk.
 */
function readServiceAccountFile(file: string, flag: string, force?: boolean): unknown {
  const text = readPrivateFile(file, flag, {
    isPrivate: holdsPrivateKey,
    maxBytes: 64 * 1024,
    ...(force ? { force } : {}),
    hint: `The authority needs only the public key: register it with --jwks FILE (offtoken service-account jwks --key ${file} > FILE)`,
  });
  const doc = parseJsonOption(text, `${flag} ${file}`);
  const other = notAServiceAccountFile(doc);
  if (other !== undefined) throw new ServiceAccountInvalidError(`${flag} ${file}: ${other}`);
  return doc;
}
const FORCE_HELP = 'read a group/world-readable --service-account file anyway';

function withCommon(c: Command): Command {
  return c
    .option('--config <file>', 'server config file (for its dataDir)')
    .option('--data-dir <dir>', 'authority data directory (default ./.offtoken)')
    .option('--json', 'JSON output');
}

export function register(program: Command): void {
  const clients = program
    .command('clients')
    .description('Register and manage the authority clients (service accounts) and their public keys');

  const add = withCommon(
    clients
      .command('add')
      .description(
        'Register a client with a public JWKS, a service-account key file, or a freshly generated key, and ' +
          'what it may obtain: --scope, --default-scope, --audience (a client without --audience gets no ' +
          'access token), --resource-server',
      )
      .option('--id <id>', 'client id (default: the service account file client_id)')
      .option('--jwks <file>', 'public JWKS of the client: all the authority needs (service-account jwks)')
      .option(
        '--service-account <file>',
        'service-account key file, mode 0600 (only its public key is stored)',
      )
      .option('--force', FORCE_HELP)
      .option(
        '--generate <file>',
        'generate an Ed25519 service-account key file here (mode 0600) and register it',
      ),
  );
  withPolicy(add).action(
    action((o: AddOptions) => {
      const policy = checkClientPolicy(policyFlags(o));
      const given = [o.jwks, o.serviceAccount, o.generate].filter((x) => x !== undefined).length;
      if (given !== 1) throw new UsageError('give exactly one of --jwks, --service-account, --generate');
      let id = o.id;
      let keys: Record<string, unknown>[];
      if (o.jwks) keys = jwksKeys(readJwksFile(o.jwks, '--jwks'));
      else if (o.serviceAccount) {
        const sa = readServiceAccountJwk(
          readServiceAccountFile(o.serviceAccount, '--service-account', o.force),
        );
        if (id !== undefined && id !== sa.clientId)
          throw new UsageError('--id differs from the file client_id');
        id = sa.clientId;
        keys = [sa.jwk];
      } else {
        if (!id) throw new UsageError('--generate needs --id');
        requireOutputPath(o.generate as string, '--generate');
        // refuse before writing a key file that would belong to nobody
        const probe = openDb(o);
        const exists = probe.getClient(id) !== undefined;
        probe.close();
        if (exists) throw new ClientRegistryError(`client ${id} already exists`);
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        const jwk = normaliseClientJwk(publicKey.export({ format: 'jwk' }));
        const file = {
          type: 'service_account',
          client_id: id,
          private_key_id: jwk.kid,
          private_key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        };
        const out = o.generate as string;
        const tmp = `${out}.${process.pid}.tmp`;
        writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
        renameSync(tmp, out);
        keys = [jwk];
      }
      if (!id) throw new UsageError('--id is required');
      const db = openDb(o);
      try {
        registerClient(db, id, keys, now(), policy);
      } finally {
        db.close();
      }
      print({ client_id: id, kids: keys.map((k) => k.kid), ...policyView(policy) }, o.json);
    }),
  );

  withPolicy(
    withCommon(
      clients
        .command('update')
        .description(
          'Replace the registered lists of a client (each flag given replaces that list; --clear empties one)',
        )
        .requiredOption('--id <id>', 'client id')
        .option('--clear <list...>', 'empty these lists: scope, default-scope, audience, resource-server'),
    ),
  ).action(
    action((o: Common & PolicyFlags & { id: string; clear?: string[] }) => {
      const change = policyFlags(o);
      for (const name of o.clear ?? []) {
        const key = CLEARABLE[name];
        if (key === undefined)
          throw new UsageError('--clear takes scope, default-scope, audience or resource-server');
        if (change[key] !== undefined) throw new UsageError(`--clear ${name} contradicts --${name}`);
        change[key] = [];
      }
      if (Object.keys(change).length === 0)
        throw new UsageError('give --scope, --default-scope, --audience, --resource-server or --clear');
      const db = openDb(o);
      let next: ClientPolicy;
      try {
        const cur = db.getClientPolicy(o.id);
        if (!cur) throw new ClientRegistryError(`client ${o.id} does not exist`);
        next = db.updateClientPolicy(o.id, checkClientPolicy(change, cur));
      } finally {
        db.close();
      }
      print({ client_id: o.id, ...policyView(next) }, o.json);
    }),
  );

  withCommon(clients.command('list').description('List clients, their state and key ids')).action(
    action((o: Common) => {
      const db = openDb(o);
      try {
        print(
          db.listClients().map((c) => ({
            client_id: c.id,
            disabled: c.disabled,
            kids: c.keys.map((k) => k.kid),
            ...policyView(c.policy),
          })),
          o.json,
        );
      } finally {
        db.close();
      }
    }),
  );

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    withCommon(
      clients
        .command(name)
        .description(
          name === 'disable'
            ? 'Disable a client: the authority refuses its assertions (disabled_client), so it gets no new token; its keys and lists are kept'
            : 'Re-enable a disabled client: the authority accepts its assertions again, with the keys and lists it had',
        )
        .requiredOption('--id <id>', 'client id'),
    ).action(
      action((o: Common & { id: string }) => {
        const db = openDb(o);
        try {
          db.setClientDisabled(o.id, disabled);
        } finally {
          db.close();
        }
        print({ client_id: o.id, disabled }, o.json);
      }),
    );
  }

  const keys = clients
    .command('keys')
    .description('Rotate a client key: add the new one, then remove the old one');
  withCommon(
    keys
      .command('add')
      .description('Add public keys to a client (its old keys stay valid until removed)')
      .requiredOption('--id <id>', 'client id')
      .option('--jwks <file>', 'JWKS whose keys are added')
      .option('--service-account <file>', 'service-account file (mode 0600) whose public key is added')
      .option('--force', FORCE_HELP),
  ).action(
    action((o: Common & { id: string; jwks?: string; serviceAccount?: string }) => {
      if ((o.jwks === undefined) === (o.serviceAccount === undefined))
        throw new UsageError('give exactly one of --jwks, --service-account');
      const list = o.jwks
        ? jwksKeys(readJwksFile(o.jwks, '--jwks'))
        : [
            readServiceAccountJwk(readServiceAccountFile(o.serviceAccount!, '--service-account', o.force))
              .jwk,
          ];
      const db = openDb(o);
      try {
        for (const k of list) db.addClientKey(o.id, k, now());
      } finally {
        db.close();
      }
      print({ client_id: o.id, added: list.map((k) => k.kid) }, o.json);
    }),
  );
  withCommon(
    keys
      .command('remove')
      .description('Remove a key from a client: assertions signed with it are refused from then on')
      .requiredOption('--id <id>', 'client id')
      .requiredOption('--kid <kid>', 'key id to remove'),
  ).action(
    action((o: Common & { id: string; kid: string }) => {
      const db = openDb(o);
      try {
        db.removeClientKey(o.id, o.kid);
      } finally {
        db.close();
      }
      print({ client_id: o.id, removed: o.kid }, o.json);
    }),
  );

  clients
    .command('assertion')
    .description(
      'Print a fresh RFC 7523 assertion (iss = sub = client, unique jti, 2 min) signed with a service-account file',
    )
    .requiredOption('--key <file>', 'service-account key file (mode 0600)')
    .requiredOption('--aud <url>', 'the token endpoint, e.g. http://127.0.0.1:8787/token')
    .option('--force', 'read a group/world-readable key file anyway')
    .action(
      action((o: { key: string; aud: string; force?: boolean }) => {
        const sa = readServiceAccountFile(o.key, '--key', o.force) as Record<string, unknown>;
        const id = (sa.client_id ?? sa.client_email) as unknown;
        if (typeof id !== 'string' || typeof sa.private_key !== 'string')
          throw new UsageError('--key is not a service-account file');
        let key: ReturnType<typeof createPrivateKey>;
        try {
          key = createPrivateKey(sa.private_key);
        } catch {
          throw new UsageError('--key private_key is not PEM');
        }
        if (!privateJwkMatchesPublic(key.export({ format: 'jwk' }) as Jwk, key))
          throw new KeyfileInvalidError(
            '--key private_key is damaged: it does not derive its own public key',
          );
        const t = now();
        const jws = signCompact(
          { typ: 'JWT', ...(typeof sa.private_key_id === 'string' ? { kid: sa.private_key_id } : {}) },
          { iss: id, sub: id, aud: o.aud, iat: t, exp: t + 120, jti: randomBytes(16).toString('base64url') },
          key,
        );
        print(jws);
      }),
    );
}
