/**
 * Intake benchmark (issue 7): a 100,000-URL CSV POSTed to /v1/submissions over loopback HTTP;
 * time to the 202 (target ≤ 10 s) and peak RSS of the process serving the API.
 *
 *   npx tsx bench/intake-bench.ts [--items 100000] [--rounds 3]
 *   DATABASE_URL=postgres://… npx tsx bench/intake-bench.ts   # else embedded PostgreSQL in a temp dir
 *
 * The API runs in this process (createApiServer over a real store); the client holds only the
 * CSV text (a few MB), so the peak RSS reported is the API's, plus that. Each round submits new
 * URLs (90 % distinct, 10 % repeats), so every round does the full work. Results are printed and
 * written to bench/results/intake.json.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { createAuthenticator } from '../api/auth.js';
import { createApiServer } from '../api/create-api-server.js';
import { openStore } from '../store/open-store.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const ITEMS = option('items', 100_000);
const ROUNDS = option('rounds', 3);
const clock = { now: () => new Date() };

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-intake-bench-'));
const store = await openStore({ databaseUrl: process.env.DATABASE_URL ?? null, dataDir });
const adminToken = randomUUID();
const app = await createApiServer({
  store, clock, log: pino({ level: 'silent' }), auth: createAuthenticator({ store, clock, adminToken }), newId: randomUUID,
  readiness: async () => ({ ready: true, checks: {} }), limits: { maxItems: 100_000, maxBodyBytes: 50 * 1024 * 1024 },
  rateLimit: null, accepting: () => true,
});
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const force = `bench-${Date.now()}`;
await store.createForce({ id: force, name: 'Bench' });

const rounds: { seconds: number; megabytes: number; accepted: number; duplicates: number }[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const tag = randomUUID().slice(0, 8);
    const distinct = Math.floor(ITEMS * 0.9);
    const rows = Array.from({ length: ITEMS }, (_, i) => `https://r${round}-${tag}-${i % distinct}.test/page/${i % distinct}?q=${i % distinct},`);
    const csv = `url,sha256\n${rows.join('\n')}\n`;
    const started = performance.now();
    const res = await request(`${base}/v1/submissions?force=${force}`, {
      method: 'POST', body: csv, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/csv' },
    });
    const body = (await res.body.json()) as { accepted: number; duplicates: number };
    const seconds = (performance.now() - started) / 1000;
    if (res.statusCode !== 202) throw new Error(`round ${round}: ${res.statusCode} ${JSON.stringify(body)}`);
    rounds.push({ seconds: Math.round(seconds * 100) / 100, megabytes: Math.round(csv.length / 1e4) / 100, accepted: body.accepted, duplicates: body.duplicates });
    process.stdout.write(`round ${round + 1}: ${ITEMS} items (${(csv.length / 1e6).toFixed(1)} MB) → 202 in ${seconds.toFixed(2)} s\n`);
  }
} finally {
  await app.close();
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

const sorted = rounds.map((r) => r.seconds).sort((a, b) => a - b);
const result = {
  at: new Date().toISOString(),
  node: process.version,
  store: store.kind,
  cpus: os.cpus().length,
  loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  items: ITEMS,
  rounds,
  medianSeconds: sorted[Math.floor(sorted.length / 2)],
  targetSeconds: 10,
  peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
const out = new URL('./results/', import.meta.url);
await mkdir(out, { recursive: true });
await writeFile(new URL(`intake-${store.kind}.json`, out), `${JSON.stringify(result, null, 2)}\n`);
