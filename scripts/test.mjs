#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner (TypeScript through tsx).
// Node 20's --test takes no globs, so the file list is built here; extra args filter by path substring.
// Some tests use the package as a user gets it (`import 'offtoken'` -> dist/, and the bin dist/cli/main.js),
// so dist/ is rebuilt first (what `npm run build` does) when it is missing or older than src/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

// tsc rewrites every output on each build, so dist/index.js carries the time of the last build.
const stamp = 'dist/index.js';
const inputs = Math.max(
  newestMtime('src'),
  ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(f).mtimeMs),
);
if (!existsSync(stamp) || statSync(stamp).mtimeMs < inputs) {
  console.error('dist/ is missing or older than src/: building (tsc -p tsconfig.build.json)');
  // From scratch, so a file deleted from src/ does not live on in dist/.
  rmSync('dist', { recursive: true, force: true });
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
  const b = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (b.status !== 0) {
    console.error('the build failed: fix it before running the tests');
    process.exit(b.status ?? 1);
  }
}

const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Test files run in separate processes; much of their time is spent waiting on spawned CLIs, servers and
// Redis, so two files at a time even on two cores (node's default would be cores - 1).
const concurrency = Math.max(2, availableParallelism() - 1);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  {
    stdio: 'inherit',
    // dist/ is current (built above when it was not): test/cli/helpers.ts runs the built CLI
    env: { ...process.env, OFFTOKEN_TESTING: '1', OFFTOKEN_TEST_DIST_FRESH: '1' },
  },
);
process.exit(r.status ?? 1);
