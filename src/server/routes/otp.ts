import type { FastifyInstance } from 'fastify';
import { OAuthUnauthorizedClientError, ServerConfigError } from '../../errors/server.js';
import type { Authority } from '../authority.js';
import { authenticateClient } from '../client-auth.js';
import { formParams, required } from '../params.js';

/** The AES-256-GCM key that seals OTP secrets in the store: `<dataDir>/otp-store.key`, 32 raw bytes, 0600. */
export function loadOtpStoreKey(
  dataDir: string,
  stores: Pick<typeof import('../../stores/index.js'), 'dataDirStoreKey'>,
): Buffer {
  // the same reader as `offtoken otp ... --data-dir`, so the CLI enrols with the key the server opens with
  try {
    return stores.dataDirStoreKey(dataDir);
  } catch (e) {
    throw new ServerConfigError((e as Error).message, { cause: e });
  }
}

/**
 * POST /otp/verify (client authentication required): `credential_id` + `code` checked by the OTP validator over
 * the SQLite store `<dataDir>/store.db`. The OTP capability is loaded lazily: when it is absent from a build the
 * endpoint is simply not registered (returns false).
 */
export async function registerOtpRoute(app: FastifyInstance, a: Authority): Promise<boolean> {
  let validatorMod: typeof import('../../otp/validator.js');
  let storesMod: typeof import('../../stores/index.js');
  try {
    validatorMod = await import('../../otp/validator.js');
    storesMod = await import('../../stores/index.js');
  } catch {
    return false;
  }
  const store = await storesMod.openStore(storesMod.dataDirStoreUrl(a.config.dataDir));
  // Any registered client may call this endpoint: an unknown id must look like a wrong code, or the answers
  // would list which credential ids exist.
  const validator = new validatorMod.OtpValidator({
    store,
    storeKey: loadOtpStoreKey(a.config.dataDir, storesMod),
    hideUnknownIds: true,
  });
  app.decorate('otpValidator', validator);
  app.addHook('onClose', async () => {
    await store.close();
  });
  app.post('/otp/verify', async (req, reply) => {
    const p = formParams(req);
    const clientId = authenticateClient(a, p, '/otp/verify');
    // refused before the code is evaluated: a client that may not verify cannot count failures either, so it
    // cannot lock a user out (the lockout is per credential, whoever sends the wrong codes)
    const allowed = a.config.otpVerifyClients;
    if (allowed !== undefined && !allowed.includes(clientId))
      throw new OAuthUnauthorizedClientError(`client ${clientId} is not in otpVerifyClients`);
    const r = await validator.verify(required(p, 'credential_id'), required(p, 'code'));
    reply.header('cache-control', 'no-store');
    return { valid: true, ...r };
  });
  return true;
}
