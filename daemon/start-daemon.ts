/**
 * The composition root: builds every concrete part for the chosen role, hands them in, and owns
 * start-up and shutdown. Nothing else in vigil constructs a store, a queue, a fetcher or a server.
 *
 * Roles (CONTRACT.md §2): `api` serves HTTP; `worker` runs jobs; `scheduler` moves due work from
 * PostgreSQL into the queues; `all` is the three in one process. Any mix of processes may share
 * one Redis and one PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiDeps, ReadinessReport } from '../api/api-deps.js';
import { createAuthenticator } from '../api/auth.js';
import { createApiServer } from '../api/create-api-server.js';
import type { VigilConfig } from '../config/config-schema.js';
import { BUILTIN_CHALLENGE_PATTERNS, compileTakedownPatterns } from '../core/takedown-patterns.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../core/store.js';
import { HttpFetcher } from '../crawler/http-fetcher.js';
import { runCheckJob } from '../queue/check-job.js';
import { createCheckDispatcher, type CheckDispatcher } from '../queue/check-dispatcher.js';
import { createWorker } from '../queue/create-worker.js';
import { queueCounts, redisHealth } from '../queue/queue-health.js';
import { createQueues, type Queues } from '../queue/queues.js';
import { connectRedis, type RedisHandle } from '../queue/redis-connection.js';
import { openStore } from '../store/open-store.js';
import { createDnsResolver } from '../tracing/dns-resolver.js';
import { probeBrowser } from './browser-probe.js';
import { runShutdown, type ShutdownStep } from './shutdown.js';

export type Role = 'all' | 'api' | 'worker' | 'scheduler';

export interface RunningDaemon {
  /** where the API listens, when this process serves it */
  url: string | null;
  stop(reason: string): Promise<{ clean: boolean }>;
}

const systemClock: Clock = { now: () => new Date() };

export async function startDaemon(options: { config: Readonly<VigilConfig>; role: Role; log: Logger; chromiumEnvPath?: string }): Promise<RunningDaemon> {
  const { config, role, log } = options;
  const runsApi = role === 'all' || role === 'api';
  const runsWorker = role === 'all' || role === 'worker';
  const runsScheduler = role === 'all' || role === 'scheduler';
  const steps: ShutdownStep[] = [];
  // Shutdown steps are pushed as parts come up and run in the order below, whatever the role.
  const order = ['http', 'dispatcher', 'workers', 'fetcher', 'queues', 'redis', 'store'];
  let accepting = true;

  log.info({ role, dataDir: config.dataDir }, 'vigil starting');
  const store: Store = await openStore({
    databaseUrl: config.storage.databaseUrl,
    dataDir: config.dataDir,
    onError: (err) => log.error({ err }, 'database client error'),
  });
  steps.push({ name: 'store', run: () => store.close() });
  log.info({ store: store.kind }, store.kind === 'embedded' ? `embedded PostgreSQL in ${config.dataDir}/db` : 'PostgreSQL connected');

  let redis: RedisHandle;
  try {
    redis = await connectRedis({ url: config.queue.redisUrl, dataDir: config.dataDir, log: log.child({ component: 'redis' }) });
  } catch (err) {
    await store.close();
    throw err;
  }
  steps.push({ name: 'redis', run: () => redis.close() });
  const queues: Queues = createQueues({ createConnection: (purpose) => redis.createConnection(purpose), prefix: config.queue.prefix });
  const healthConnection = redis.createConnection('health');
  steps.push({ name: 'queues', run: () => queues.close() });

  const browser = probeBrowser({ enabled: config.crawler.browser.enabled, executablePath: config.crawler.browser.executablePath, envPath: options.chromiumEnvPath });
  log[browser.available ? 'info' : 'warn']({ browser: browser.detail }, browser.available ? 'browser available' : 'browser unavailable: HTTP-only');

  const workers: { close(deadlineMs?: number): Promise<unknown> }[] = [];
  if (runsWorker) {
    const resolver = createDnsResolver({ servers: [...config.crawler.dnsServers], timeoutMs: 5000, tries: 2 });
    const fetcher = new HttpFetcher({
      resolver,
      allowNetworks: [...config.crawler.allowNetworks],
      userAgent: config.crawler.userAgent,
      connectTimeoutMs: config.crawler.timeouts.connect,
      totalTimeoutMs: config.crawler.timeouts.total,
      maxBodyBytes: config.crawler.maxBodyBytes,
      maxRedirects: config.crawler.maxRedirects,
      concurrency: config.crawler.concurrency,
      perHostConcurrency: config.crawler.perHostConcurrency,
    });
    steps.push({ name: 'fetcher', run: () => fetcher.close() });
    const rules = { takedownPatterns: compileTakedownPatterns(config.crawler.takedownPatterns), challengePatterns: BUILTIN_CHALLENGE_PATTERNS };
    const schedule = { ...config.schedule.recheck, pendingRetry: Math.min(config.schedule.recheck.unreachable, 15 * 60_000) };
    const checkWorker = createWorker('check', async (payload, { job, signal, log: jobLog }) => {
      await runCheckJob({ checkId: String(job.id), reportId: payload.reportId }, { store, fetcher, clock: systemClock, rules, schedule, log: jobLog }, signal);
    }, {
      connection: redis.createConnection('worker'),
      prefix: config.queue.prefix,
      concurrency: Math.min(config.crawler.concurrency, 256),
      lockDuration: config.queue.lockDuration,
      log: log.child({ component: 'worker', queue: 'check' }),
    });
    workers.push(checkWorker);
    steps.push({ name: 'workers', run: (ms) => Promise.all(workers.map((w) => w.close(ms))).then(() => undefined) });
  }

  if (runsScheduler) {
    const dispatcher: CheckDispatcher = createCheckDispatcher({
      store,
      queue: queues.check,
      clock: systemClock,
      intervalMs: config.queue.dispatchInterval,
      batchSize: config.queue.dispatchBatch,
      leaseMs: config.queue.checkLease,
      log: log.child({ component: 'dispatcher' }),
    });
    dispatcher.start();
    steps.push({ name: 'dispatcher', run: () => dispatcher.stop() });
  }

  const readiness = async (): Promise<ReadinessReport> => {
    const checks: ReadinessReport['checks'] = {};
    const [db, rd] = await Promise.all([
      store.ping().then(() => ({ ok: true }), (err: Error) => ({ ok: false, detail: err.message })),
      redisHealth(healthConnection).then((h) => (h.ok ? { ok: true, latencyMs: h.latencyMs } : { ok: false, detail: h.error }), (err: Error) => ({ ok: false, detail: err.message })),
    ]);
    checks.database = { ...db, kind: store.kind };
    checks.redis = rd;
    checks.browser = { ok: true, available: browser.available, detail: browser.detail };
    checks.queues = await queueCounts(queues).then((counts) => ({ ok: true, counts }), (err: Error) => ({ ok: false, detail: err.message }));
    checks.intake = { ok: accepting, detail: accepting ? 'accepting' : 'shutting down' };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };

  let app: FastifyInstance | null = null;
  let url: string | null = null;
  if (runsApi) {
    const deps: ApiDeps = {
      store,
      clock: systemClock,
      log,
      auth: createAuthenticator({ store, clock: systemClock, adminToken: config.auth.adminToken }),
      newId: randomUUID,
      readiness,
      limits: { maxItems: 100_000, maxBodyBytes: 50 * 1024 * 1024 },
      accepting: () => accepting,
    };
    app = await createApiServer(deps);
    await app.listen({ host: config.http.host, port: config.http.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
    const server = app;
    steps.push({ name: 'http', run: async () => { accepting = false; await server.close(); } });
    log.info({ url }, 'API listening');
  }
  if (!config.auth.adminToken && runsApi) log.warn('no admin token (VIGIL_ADMIN_TOKEN / auth.adminToken): only existing API keys can call the API');
  log.info({ role }, 'vigil started');

  let stopping: Promise<{ clean: boolean }> | null = null;
  return {
    url,
    stop(reason) {
      stopping ??= (async () => {
        log.info({ reason, deadlineMs: config.shutdown.deadline }, 'vigil stopping');
        accepting = false;
        const ordered = [...steps].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
        const result = await runShutdown(ordered, config.shutdown.deadline, log);
        log.info({ clean: result.clean }, 'vigil stopped');
        return result;
      })();
      return stopping;
    },
  };
}
