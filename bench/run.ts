/**
 * `npm run bench [-- --json] [-- --quick] [-- --only jose,otp] [-- --markdown FILE]`
 * Runs every suite in bench/suites in one process and prints ops/s with ratios against the
 * `node:crypto` limit and against offtoken, grouped by case.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchCase, type BenchResult, type BenchSuite, measureGroup } from './harness.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = flag('--only')?.split(',');
const markdownFile = flag('--markdown');
// --quick must finish every suite within 60 s (about 90 timed cases, plus the self-measuring HTTP and store
// cases and each suite's setup): 30 ms warm-up + 6 interleaved rounds of 40 ms per case. Many short rounds,
// taken in turn by every implementation of a case, keep the ratios steady when the machine's load shifts.
const opts = quick ? { roundMs: 40, rounds: 6 } : { roundMs: 300, rounds: 10 };

const here = dirname(fileURLToPath(import.meta.url));
const suiteFiles = readdirSync(join(here, 'suites'))
  .filter((f) => f.endsWith('.ts'))
  .sort();

const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
  else process.stderr.write(`${line}\n`);
};

// A suite's name is its file name with `-` for `_` (otp_validator.ts is otp-validator); with --only, the
// other suites are not even imported, so one suite being edited cannot break the run of another.
const stem = (file: string) => file.replace(/\.ts$/, '').replaceAll('_', '-');

const results: BenchResult[] = [];
const sections: string[] = [];
const started = process.hrtime.bigint();
for (const file of suiteFiles) {
  if (only && !only.includes(stem(file)) && !only.includes(file.replace(/\.ts$/, ''))) continue;
  const mod = (await import(pathToFileURL(join(here, 'suites', file)).href)) as { suite: BenchSuite };
  const suite = mod.suite;
  if (only && !only.includes(suite.name) && !only.includes(stem(file))) continue;
  log(`\n## ${suite.name}`);
  const suiteStart = process.hrtime.bigint();
  const cases = await suite.setup({ quick });
  const mine: BenchResult[] = [];
  try {
    // The implementations of one case are measured together, interleaved round by round (see measureGroup).
    const groups = new Map<string, BenchCase[]>();
    for (const c of cases) groups.set(c.case, [...(groups.get(c.case) ?? []), c]);
    for (const group of groups.values()) {
      const rates = await measureGroup(group, opts);
      group.forEach((c, i) => {
        const r = { case: c.case, impl: c.impl, opsPerSec: Math.round(rates[i]!) };
        mine.push(r);
        results.push(r);
        log(
          `  ${c.case.padEnd(40)} ${c.impl.padEnd(22)} ${r.opsPerSec.toLocaleString('en-US').padStart(12)} ops/s`,
        );
      });
    }
  } finally {
    await suite.teardown?.();
  }
  log(`  (${suite.name}: ${(Number(process.hrtime.bigint() - suiteStart) / 1e9).toFixed(1)} s)`);
  sections.push(renderTable(suite.name, mine));
}
log(`\n(${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s)`);

function renderTable(name: string, rows: BenchResult[]): string {
  const byCase = new Map<string, BenchResult[]>();
  for (const r of rows) byCase.set(r.case, [...(byCase.get(r.case) ?? []), r]);
  const out = [
    `### ${name}`,
    '',
    '| case | impl | ops/s | x node:crypto | offtoken / impl |',
    '|---|---|--:|--:|--:|',
  ];
  for (const [c, list] of byCase) {
    const raw = list.find((r) => r.impl === 'node:crypto' || r.impl.startsWith('limit'));
    const ours = list.find((r) => r.impl === 'offtoken');
    for (const r of list) {
      const vsRaw = raw ? (r.opsPerSec / raw.opsPerSec).toFixed(2) : '';
      const vsOurs = ours && r !== ours ? (ours.opsPerSec / r.opsPerSec).toFixed(2) : '';
      out.push(`| ${c} | ${r.impl} | ${r.opsPerSec.toLocaleString('en-US')} | ${vsRaw} | ${vsOurs} |`);
    }
  }
  return out.join('\n');
}

if (json) process.stdout.write(`${JSON.stringify(results)}\n`);
else log(`\n${sections.join('\n\n')}`);
if (markdownFile) writeFileSync(markdownFile, `${sections.join('\n\n')}\n`);
