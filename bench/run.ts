/**
 * `npm run bench`: every benchmark (crawler, browser, tracing, intake, scale, e2e), one after
 * the other, each in its own process so one's
 * memory and sockets do not colour the next. Each writes its own bench/results/<name>.json;
 * this prints a summary and writes bench/results/summary.json. Loopback only.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const results = path.join(here, 'results');
const benches = [
  { name: 'crawler', file: 'crawler-bench.ts', outputs: ['crawler.json'] },
  { name: 'browser', file: 'browser-bench.ts', outputs: ['browser.json'] },
  { name: 'tracing', file: 'tracing-bench.ts', outputs: ['tracing.json'] },
  { name: 'intake', file: 'intake-bench.ts', outputs: ['intake-postgres.json', 'intake-embedded.json'] },
  { name: 'scale', file: 'scale-bench.ts', outputs: ['scale.json'] },
  { name: 'e2e', file: 'e2e-bench.ts', outputs: ['e2e.json'] },
];

const only = process.argv.slice(2);
mkdirSync(results, { recursive: true });
const summary: Record<string, { exitCode: number | null; seconds: number; results: Record<string, unknown> }> = {};
let failed = false;
for (const bench of benches) {
  if (only.length > 0 && !only.includes(bench.name)) continue;
  process.stdout.write(`\n=== bench: ${bench.name} ===\n`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, bench.file)], { stdio: 'inherit' });
  const collected: Record<string, unknown> = {};
  for (const out of bench.outputs) {
    const file = path.join(results, out);
    if (existsSync(file)) collected[out] = JSON.parse(readFileSync(file, 'utf8'));
  }
  summary[bench.name] = { exitCode: run.status, seconds: (Date.now() - started) / 1000, results: collected };
  if (run.status !== 0) failed = true;
}
writeFileSync(path.join(results, 'summary.json'), `${JSON.stringify({ at: new Date().toISOString(), summary }, null, 2)}\n`);
process.stdout.write(`\nsummary written to ${path.join(results, 'summary.json')}\n`);
process.exit(failed ? 1 : 0);
