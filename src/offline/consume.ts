import { InvalidArgumentError } from '../errors/base.js';
import { OfflineCounterReplayedError, OfflineTokenReplayedError } from '../errors/offline.js';
import type { ConsumeStore, OfflineTokenClaims } from './types.js';

/**
 * One-time use: the jti is held until exp + tolerance (after that the token is refused as expired anyway, so
 * the store can forget it). The jti is consumed before the counter moves: a replayed token is reported as
 * replayed, and a fresh token with a stale counter burns its jti (it was refused, and must stay refused).
 */
export async function consumeToken(
  store: ConsumeStore,
  namespace: string,
  claims: OfflineTokenClaims,
  tolerance: number,
): Promise<void> {
  const first = await store.consumeOnce(`${namespace}:jti`, claims.jti, claims.exp + tolerance);
  if (!first) throw new OfflineTokenReplayedError('the token was already used');
  if (claims.ctr === undefined) return;
  if (typeof store.advanceCounter !== 'function')
    throw new InvalidArgumentError('the token carries a counter but the consume store has no advanceCounter');
  const device = claims.device ?? claims.sub;
  if (device === undefined)
    throw new OfflineCounterReplayedError('the token carries a counter but no device');
  const advanced = await store.advanceCounter(`${namespace}:ctr`, device, claims.ctr);
  if (!advanced)
    throw new OfflineCounterReplayedError(
      'the counter did not increase: an older token of this device was replayed',
    );
}
