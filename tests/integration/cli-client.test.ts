/**
 * The `vigil` client subcommands as a user runs them — real child processes (bin/vigil.js)
 * against an API server on loopback — and `vigil audit verify` against the database itself:
 * messages, exit codes (0 success, 1 a failure the user can fix, 2 usage), CSV sent as CSV,
 * and a tampered audit chain named by its first broken row.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApiHarness, testUrls, type ApiHarness } from '../api/support/api-harness.js';
import { baseEnv, freePort, runVigil } from '../support/daemon-process.js';

describe('vigil client commands (processes)', () => {
  let h: ApiHarness;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    h = await startApiHarness();
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function vigil(args: string[], token: string | null, extra: NodeJS.ProcessEnv = {}) {
    const run = runVigil(args, { env: baseEnv({ VIGIL_URL: url, ...(token ? { VIGIL_TOKEN: token } : {}), ...extra }), cwd: dir });
    const { code } = await run.exited;
    return { code, out: run.stdout(), err: run.stderr() };
  }

  it('forces add, keys create, submit (CSV as text/csv, text as text/plain), status, report', async () => {
    const added = await vigil(['forces', 'add', 'kent', 'Kent Police'], ADMIN_TOKEN);
    expect(added).toMatchObject({ code: 0, out: 'force kent created: Kent Police\n' });
    const key = await vigil(['keys', 'create', '--role', 'force', '--force', 'kent', '--label', 'intake'], ADMIN_TOKEN);
    expect(key.code).toBe(0);
    const token = /token: (vgl_\S+)/.exec(key.out)?.[1];
    expect(token).toBeDefined();
    expect(key.out).toContain('shown once');

    const [a, b, c] = testUrls(3);
    writeFileSync(path.join(dir, 'list.csv'), `url,verdict\n${a},illegal\n"${b}",\nnot a url,\n`);
    const submitted = await vigil(['submit', 'list.csv', '--reference', 'OP-9'], token!);
    expect(submitted.code).toBe(0);
    expect(submitted.out).toMatch(/^submission [0-9a-f-]{36}: 2 accepted, 0 already monitored, 1 rejected\n {2}line 4: not an absolute URL: not a url\n/);
    const id = /^submission (\S+):/.exec(submitted.out)![1]!;
    const verdict = await h.store.sql.query('SELECT verdict FROM reports WHERE url = $1', [a]);
    expect(verdict.rows).toEqual([{ verdict: 'illegal' }]);

    writeFileSync(path.join(dir, 'list.txt'), `${c}\n${a}\n`);
    const text = await vigil(['submit', 'list.txt'], token!);
    expect(text).toMatchObject({ code: 0 });
    expect(text.out).toMatch(/: 1 accepted, 1 already monitored, 0 rejected/);

    const status = await vigil(['status', id], token!);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`submission ${id} (force kent, reference OP-9)`);
    expect(status.out).toContain('2 items: 2 pending; 1 lines rejected at intake');

    const reportId = (await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [a])).rows[0]!.id;
    const report = await vigil(['report', reportId], token!);
    expect(report.code).toBe(0);
    expect(report.out).toContain(`report ${reportId}: pending\n  url: ${a}\n  verdict: illegal (submission)`);
    const json = await vigil(['report', reportId, '--json'], token!);
    expect(JSON.parse(json.out)).toMatchObject({ id: reportId, url: a, traces: [] });
  }, 120_000);

  it('status without a submission reads the public /readyz: no key needed; not ready → each part, exit 1', async () => {
    const ready = await vigil(['status'], null);
    expect(ready).toMatchObject({ code: 0, out: 'vigil: ready\n  database: ok\n' });
    const readiness = h.deps.readiness;
    h.deps.readiness = async () => ({ ready: false, checks: { database: { ok: true }, redis: { ok: false, detail: 'connect ECONNREFUSED' } } });
    try {
      const down = await vigil(['status'], null);
      expect(down.code).toBe(1);
      expect(down.out).toBe('vigil: not_ready\n  database: ok\n  redis: NOT OK (connect ECONNREFUSED)\n');
      expect(down.err).toMatch(/vigil is not ready: see the parts marked NOT OK above/);
    } finally {
      h.deps.readiness = readiness;
    }
  }, 120_000);

  it('exit 1 with a message that says what to do', async () => {
    const analyst = (await h.newKey('analyst')).token;
    const cases: [string[], string | null, NodeJS.ProcessEnv, RegExp][] = [
      [['status', '00000000-0000-4000-8000-000000000000'], analyst, {}, /404 Not found \(NOT_FOUND\)/],
      [['report', 'nope'], `vgl_${'x'.repeat(43)}`, {}, /401 .*Check VIGIL_TOKEN/],
      [['status', 'x'], null, {}, /No API token: set VIGIL_TOKEN/],
      [['submit', 'missing.csv'], analyst, {}, /Cannot read missing\.csv/],
      [['forces', 'add', 'kent', 'Again'], ADMIN_TOKEN, {}, /409 .*FORCE_EXISTS/],
      [['keys', 'create', '--role', 'force'], ADMIN_TOKEN, {}, /400 .*a force key needs "force"/],
      [['status'], analyst, { VIGIL_URL: `http://127.0.0.1:${await freePort()}` }, /Cannot reach vigil .*Is the daemon running/],
    ];
    for (const [args, token, env, message] of cases) {
      const r = await vigil(args, token, env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    writeFileSync(path.join(dir, 'bad.txt'), 'nothing\nuseful\n');
    const force = await h.newForce();
    const nothing = await vigil(['submit', 'bad.txt', '--force', force], ADMIN_TOKEN);
    expect(nothing.code).toBe(1);
    expect(nothing.err).toMatch(/Nothing in the file was accepted/);
  }, 120_000);

  it('exit 2 on usage errors — a missing subcommand too — and 0 on help asked for', async () => {
    for (const args of [['keys', 'create'], ['submit'], ['keys', 'create', '--role', 'overlord'], ['frobnicate'], [], ['keys'], ['config']]) {
      const r = await vigil(args, ADMIN_TOKEN);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).not.toBe('');
    }
    for (const args of [['--help'], ['help'], ['keys', '--help'], ['help', 'keys']]) {
      const r = await vigil(args, ADMIN_TOKEN);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out, args.join(' ')).toMatch(/Usage: vigil/);
    }
  }, 60_000);

  it('vigil audit verify: 0 on an intact chain; 1 naming the first row edited behind the trigger', async () => {
    const env = { DATABASE_URL: h.databaseUrl!, VIGIL_DATA_DIR: path.join(dir, 'data') };
    const intact = await vigil(['audit', 'verify'], null, env);
    expect(intact.code).toBe(0);
    expect(intact.out).toMatch(/^audit chain intact: \d+ rows; last row \d+ at .*, hash [0-9a-f]{64}/);

    const owner = new pg.Client({ connectionString: h.databaseUrl! });
    await owner.connect();
    let seq: number;
    try {
      seq = (await owner.query<{ seq: number }>('SELECT min(seq)::int + 1 AS seq FROM audit_log')).rows[0]!.seq;
      await owner.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
      await owner.query(`UPDATE audit_log SET actor = 'admin-token', action = 'report.read' WHERE seq = $1`, [seq]);
      await owner.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
    } finally {
      await owner.end();
    }
    const broken = await vigil(['audit', 'verify'], null, env);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain(`audit chain BROKEN at row ${seq}`);
    expect(broken.err).toContain('hash does not match the row');

    const nowhere = await vigil(['audit', 'verify'], null, { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/none` });
    expect(nowhere.code).toBe(1);
    expect(nowhere.err).toMatch(/^vigil: /);
  }, 120_000);
});
