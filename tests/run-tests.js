#!/usr/bin/env node
// `npm test`: make sure the real parts the tests talk to are there (Redis, PostgreSQL,
// Chromium), then lint, type-check, run the whole vitest suite and, when it passed, the fault
// series (`npm run test:faults`, 100 seeded runs, ~10 minutes; issue 9 asks for it in CI).
// It fails loudly — it never skips — when something cannot be had. Ends with one plain summary
// line "N passed, N failed" counting both.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

const redisUrl = new URL(process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
const pgUrl = new URL(process.env.VIGIL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const isRoot = process.getuid?.() === 0;
const hasApt = existsSync('/usr/bin/apt-get');

function say(message) {
  process.stdout.write(`[npm test] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`\n[npm test] CANNOT RUN THE TESTS: ${message}\n`);
  process.exit(1);
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1500);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(host, port, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await reachable(host, port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

let aptUpdated = false;
function aptInstall(pkg) {
  if (!isRoot || !hasApt) return false;
  say(`installing ${pkg} from Debian's packages`);
  if (!aptUpdated) { execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' }); aptUpdated = true; }
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return true;
}

// Redis
const redisPort = Number(redisUrl.port || 6379);
if (!(await reachable(redisUrl.hostname, redisPort))) {
  if (!onPath('redis-server') && !aptInstall('redis-server')) {
    fail(`no Redis answers at ${redisUrl} and redis-server is not installed. Install Redis >= 6.2 (apt-get install redis-server) or set VIGIL_TEST_REDIS_URL.`);
  }
  mkdirSync('/tmp/vigil-test-redis', { recursive: true });
  say(`starting redis-server on ${redisUrl.hostname}:${redisPort}`);
  execFileSync('redis-server', ['--daemonize', 'yes', '--bind', redisUrl.hostname, '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--dir', '/tmp/vigil-test-redis', '--logfile', '/tmp/vigil-test-redis/redis.log']);
  if (!(await waitFor(redisUrl.hostname, redisPort, 10_000))) fail('redis-server was started but does not answer.');
}

// PostgreSQL
const pgPort = Number(pgUrl.port || 5432);
if (!(await reachable(pgUrl.hostname, pgPort))) {
  if (onPath('pg_ctlcluster') && existsSync('/etc/postgresql')) {
    const version = execFileSync('ls', ['/etc/postgresql']).toString().trim().split('\n')[0];
    say(`starting PostgreSQL ${version}`);
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  }
  if (!(await waitFor(pgUrl.hostname, pgPort, 15_000))) {
    fail(`no PostgreSQL answers at ${pgUrl.host}. Start one (trust auth for the test user) or set VIGIL_TEST_DATABASE_URL.`);
  }
}

// Chromium (browser tests)
if (!existsSync(chromium)) {
  if (!aptInstall('chromium') || !existsSync(chromium)) {
    fail(`no Chromium at ${chromium}. Install Debian's chromium package or set CHROMIUM_PATH (never a downloaded browser).`);
  }
}

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1;

say('lint');
if (run('npx', ['eslint', '.']) !== 0) fail('lint failed (see above).');
say('typecheck');
if (run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']) !== 0) fail('type check failed (see above).');

/** Runs vitest with a JSON report; returns its exit status and counts (null: no report). */
function vitest(label, args, report) {
  say(label);
  const status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args]);
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    return { status, passed: r.numPassedTests, failed: r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0), skipped: r.numPendingTests + r.numTodoTests };
  } catch {
    return { status, passed: 0, failed: 0, skipped: 0, crashed: true }; // vitest crashed before writing it
  }
}

mkdirSync('test-output', { recursive: true });
const extra = process.argv.slice(2);
const suites = [vitest('vitest', extra, 'test-output/vitest.json')];
// the series only after a green suite, and not when the caller picked test files
if (suites[0].status === 0 && extra.length === 0) {
  suites.push(vitest('fault series (npm run test:faults)', ['--config', 'vitest.faults.config.ts'], 'test-output/faults.json'));
}
const total = suites.reduce((t, r) => ({ passed: t.passed + r.passed, failed: t.failed + r.failed, skipped: t.skipped + r.skipped }), { passed: 0, failed: 0, skipped: 0 });
const status = suites.some((r) => r.status !== 0 || r.crashed) ? 1 : 0;
process.stdout.write(`\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`);
if (suites.every((r) => !r.crashed) && total.passed === 0) fail('vitest ran no test.');
if (total.skipped > 0) fail(`${total.skipped} test(s) skipped: a skipped test is a defect here.`);
process.exit(status);
