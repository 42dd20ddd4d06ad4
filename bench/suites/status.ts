import { generateKeyPairSync, randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StatusListClient } from '../../src/status-list/client.js';
import { StatusList } from '../../src/status-list/list.js';
import { createStatusListToken } from '../../src/status-list/token.js';
import type { BenchCase, BenchSuite } from '../harness.js';

/*
 * Token Status Lists, on a 10,000,000-entry 1-bit list with 1% of its entries revoked:
 * - per token: StatusListClient.check on the cached, verified list (read the token's status claim, find the
 *   list, read the bit), beside a bare StatusList.get and the limit (one byte read and a shift).
 * - load: a fresh client fetching the list over HTTP (127.0.0.1), verifying its signature, inflating and
 *   indexing it; loads per second in the table, milliseconds and memory (held and transient) to stderr.
 */
const N = 10_000_000;
const LOOKUPS = 4096;
let server: Server | undefined;

setFlagsFromString('--expose-gc');
const gcNow = runInNewContext('gc') as () => void;
// backing stores of collected ArrayBuffers are released after the collection: let that finish too
const gc = async () => {
  gcNow();
  await new Promise((r) => setTimeout(r, 50));
  gcNow();
};
const mb = (n: number) => (n / 1024 / 1024).toFixed(2);

export const suite: BenchSuite = {
  name: 'status',
  async setup(): Promise<BenchCase[]> {
    const issuer = generateKeyPairSync('ed25519');
    const list = new StatusList(1, N);
    // random positions (a regular pattern would compress to almost nothing): about 1% revoked
    for (let i = 0; i < N / 100; i++) list.set(randomInt(N), 1);
    let base = '';
    let token = '';
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/statuslist+jwt' });
      res.end(token);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const uri = `${base}/lists/1`;
    token = createStatusListToken(list, { uri, key: issuer.privateKey, ttl: 3600 });
    const opts = { allowedPrefixes: [`${base}/lists/`], key: issuer.publicKey };

    const claims = Array.from({ length: LOOKUPS }, (_, i) => ({
      sub: 'user',
      status: { status_list: { idx: (i * 2_654_435_761) % N, uri } },
    }));
    const client = new StatusListClient(opts);
    await client.check(claims[0]!);
    let a = 0;
    let b = 0;
    let c = 0;
    const bytes = list.bytes;

    const measureLoad = async (ms: number) => {
      const times: number[] = [];
      const end = Date.now() + Math.max(ms, 1500);
      while (Date.now() < end || times.length < 5) {
        const fresh = new StatusListClient(opts);
        const t0 = process.hrtime.bigint();
        await fresh.check(claims[1]!);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      // memory: one more client, loaded and held, against the baseline without it
      await gc();
      const before = process.memoryUsage();
      const held = new StatusListClient(opts);
      await held.check(claims[2]!);
      const peak = process.memoryUsage();
      await gc();
      const after = process.memoryUsage();
      times.sort((x, y) => x - y);
      console.error(
        `  status: 10M-entry list (1% revoked, token ${mb(token.length)} MB, inflated ${mb(list.bytes.byteLength)} MB): ` +
          `load p50 ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms over ${times.length} loads; ` +
          `held after GC: arrayBuffers +${mb(after.arrayBuffers - before.arrayBuffers)} MB, ` +
          `heap +${mb(after.heapUsed - before.heapUsed)} MB, rss +${mb(after.rss - before.rss)} MB; ` +
          `transient during load: rss +${mb(peak.rss - before.rss)} MB (${held.fetchCount} fetch)`,
      );
      return times.length / (times.reduce((s, t) => s + t, 0) / 1000);
    };

    return [
      {
        case: 'status of a token (10M-entry list, cached)',
        impl: 'offtoken (StatusListClient.check)',
        fn: () => client.check(claims[(a = (a + 1) & (LOOKUPS - 1))]!),
      },
      {
        case: 'status of a token (10M-entry list, cached)',
        impl: 'StatusList.get (bare bit lookup)',
        fn: () => list.get(claims[(b = (b + 1) & (LOOKUPS - 1))]!.status.status_list.idx),
      },
      {
        case: 'status of a token (10M-entry list, cached)',
        impl: 'limit (byte read and shift)',
        fn: () => {
          const idx = claims[(c = (c + 1) & (LOOKUPS - 1))]!.status.status_list.idx;
          return ((bytes[idx >> 3] ?? 0) >> (idx & 7)) & 1;
        },
      },
      {
        case: '10M-entry list load (fetch, verify, inflate)',
        impl: 'offtoken (StatusListClient)',
        measure: measureLoad,
      },
    ];
  },
  async teardown() {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  },
};
