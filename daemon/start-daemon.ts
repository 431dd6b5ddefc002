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
import { createVigilMetrics } from '../api/metrics/vigil-metrics.js';
import type { VigilConfig } from '../config/config-schema.js';
import { BUILTIN_CHALLENGE_PATTERNS, compileTakedownPatterns } from '../core/takedown-patterns.js';
import type { Clock } from '../core/clock.js';
import { VigilError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import { BrowserFetcher } from '../crawler/browser-fetcher.js';
import { HashList } from '../crawler/hash-list.js';
import { HttpFetcher } from '../crawler/http-fetcher.js';
import { runCheckJob } from '../queue/check-job.js';
import { createCheckDispatcher, type CheckDispatcher } from '../queue/check-dispatcher.js';
import { createSubmissionCompleter } from '../queue/submission-completer.js';
import { createCheckReconciler } from '../queue/check-reconciler.js';
import { lifecyclePolicyOf } from '../queue/lifecycle-settings.js';
import { createSupervisedWorker } from '../queue/supervised-worker.js';
import { runTraceJob } from '../queue/trace-job.js';
import { sendNotice } from '../notifier/send-notice.js';
import { queueCounts, redisHealth } from '../queue/queue-health.js';
import { createQueues, type Queues } from '../queue/queues.js';
import { connectRedis, type RedisHandle } from '../queue/redis-connection.js';
import { openStore } from '../store/open-store.js';
import { createDnsResolver } from '../tracing/dns-resolver.js';
import { TracingError } from '../tracing/tracing-errors.js';
import { probeBrowser } from './browser-probe.js';
import { createNoticeDecider, createNoticeDispatcher, createNotifySender } from './notifier-parts.js';
import { runShutdown, type ShutdownStep } from './shutdown.js';
import { createTraceParts } from './trace-parts.js';

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
  const order = ['http', 'dispatcher', 'workers', 'browser', 'fetcher', 'queues', 'redis', 'store'];
  const ordered = (): ShutdownStep[] => [...steps].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  /** Start-up fails: what is up already is stopped first, so no half-started daemon stays running. */
  const failStart = async (err: unknown): Promise<never> => {
    await runShutdown(ordered(), config.shutdown.deadline, log);
    throw err;
  };
  /** A part that cannot come up fails start-up ({@link failStart}). */
  const orStop = <T>(part: Promise<T>): Promise<T> => part.catch(failStart);
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
  // One registry per daemon (CONTRACT.md §8): the gauges read PostgreSQL and BullMQ when scraped.
  const metrics = createVigilMetrics({
    reportCounts: () => store.countReportsByStatus(),
    queueJobs: () => queueCounts(queues),
    onCollectError: (metric, err) => log.warn({ err, metric }, 'metric not collected'),
  });

  const browser = probeBrowser({ enabled: config.crawler.browser.enabled, executablePath: config.crawler.browser.executablePath, envPath: options.chromiumEnvPath });
  if (runsWorker && config.crawler.browser.enabled === true && !browser.available) {
    // `true` means a browser is required (`auto` is the setting that falls back to HTTP-only)
    await failStart(new VigilError('CONFIG_INVALID', `crawler.browser.enabled is true, but there is ${browser.detail}`));
  }
  log[browser.available ? 'info' : 'warn']({ browser: browser.detail }, browser.available ? 'browser available' : 'browser unavailable: HTTP-only');

  // The hash list (`hashList.files`): a digest found in it is an `illegal` verdict — a body's, in
  // the workers (`mediaPolicy: hash`), and one submitted with a URL, at intake (the api role).
  // Unreadable at start (config/ checked that it exists): fail start-up.
  const hashList: HashList | null = config.hashList.files.length === 0 || !(runsWorker || runsApi) ? null
    : await orStop(HashList.open({ files: [...config.hashList.files] }).catch((err: unknown) => {
      throw new VigilError('CONFIG_INVALID', `hashList.files: ${(err as Error).message}`, { cause: err });
    }));
  if (hashList) {
    const hashLog = log.child({ component: 'hash-list' });
    hashList.on('reload', (r: { size: number; badLines: number }) => hashLog.info({ size: r.size, badLines: r.badLines }, 'hash list reloaded'));
    hashList.on('reloadError', (err: Error) => hashLog.warn({ err }, 'hash list reload failed; the previous list stays in use'));
    const list = hashList;
    steps.push({ name: 'fetcher', run: () => list.close() });
  }

  const workers: { close(deadlineMs?: number): Promise<unknown> }[] = [];
  if (runsWorker) {
    const resolver = createDnsResolver({ servers: [...config.crawler.dnsServers], timeoutMs: 5000, tries: 2 });
    // Tracing: where live content is hosted (the check job asks for traces; a trace that starts or
    // moves routing makes the report's notice decision due). Opened before any worker takes a job:
    // a database or bootstrap file that cannot be used fails start-up with its path.
    const traceParts = await orStop(createTraceParts({ config, resolver, clock: systemClock, log }).catch((err: unknown) => {
      throw err instanceof TracingError ? new VigilError('CONFIG_INVALID', `tracing: ${err.detail}`, { cause: err }) : err;
    }));
    steps.push({ name: 'fetcher', run: () => traceParts.close() });
    const fetcher = new HttpFetcher({
      hashList,
      resolver,
      allowNetworks: [...config.crawler.allowNetworks],
      userAgent: config.crawler.userAgent,
      connectTimeoutMs: config.crawler.timeouts.connect,
      totalTimeoutMs: config.crawler.timeouts.total,
      maxBodyBytes: config.crawler.maxBodyBytes,
      maxRedirects: config.crawler.maxRedirects,
      concurrency: config.crawler.concurrency,
      perHostConcurrency: config.crawler.perHostConcurrency,
      vantages: config.crawler.vantages.map((v) => ({ id: v.id, proxy: v.proxy })),
    });
    steps.push({ name: 'fetcher', run: () => fetcher.close() });
    // Chromium for pages built by script, when the probe found one (CONTRACT.md §1).
    const browserFetcher = browser.available && browser.executablePath !== null ? new BrowserFetcher({
      executablePath: browser.executablePath,
      resolver,
      allowNetworks: [...config.crawler.allowNetworks],
      userAgent: config.crawler.userAgent,
      connectTimeoutMs: config.crawler.timeouts.connect,
      totalTimeoutMs: config.crawler.timeouts.total,
      maxBodyBytes: config.crawler.maxBodyBytes,
      maxRedirects: config.crawler.maxRedirects,
      pages: config.crawler.browser.pages,
    }) : null;
    if (browserFetcher) steps.push({ name: 'browser', run: () => browserFetcher.close() });
    const rules = { takedownPatterns: compileTakedownPatterns(config.crawler.takedownPatterns), challengePatterns: BUILTIN_CHALLENGE_PATTERNS };
    const policy = lifecyclePolicyOf(config.schedule);
    // What every worker takes from `queue.*`: the lock, the stalled-job scan, the watchdog.
    const workerOptions = (queue: 'check' | 'notify' | 'trace', concurrency: number) => ({
      createConnection: () => redis.createConnection('worker'),
      prefix: config.queue.prefix,
      concurrency,
      lockDuration: config.queue.lockDuration,
      stalledInterval: config.queue.stalledInterval,
      maxStalledCount: config.queue.maxStalledCount,
      intervalMs: config.queue.watchdogInterval,
      stuckAfterMs: Math.max(60_000, 2 * config.queue.lockDuration),
      waitingCount: () => queues[queue].getWaitingCount(),
      log: log.child({ component: 'worker', queue }),
    });
    const checkWorker = createSupervisedWorker('check', async (payload, { job, signal, log: jobLog }) => {
      const checkJob = { checkId: String(job.id), reportId: payload.reportId, dueAt: new Date(payload.dueAt) };
      const started = performance.now();
      const result = await runCheckJob(checkJob, {
        store, fetcher, browser: browserFetcher, mediaPolicy: config.crawler.mediaPolicy, hashList,
        vantages: config.crawler.vantages.map((v) => v.id), clock: systemClock, rules, policy, random: Math.random, log: jobLog,
        trace: { queues, store },
      }, signal);
      if (result.outcome !== null && result.applied) metrics.observeCheck(result.outcome, (performance.now() - started) / 1000);
    }, workerOptions('check', config.crawler.concurrency));
    workers.push(checkWorker);
    // Wait for running jobs until shortly before the deadline: the rest of it is for handing the
    // unfinished ones back to the queue and closing, so even that path ends within the deadline.
    const handBackMs = (ms: number) => Math.min(1000, Math.floor(ms / 4));
    steps.push({ name: 'workers', run: (ms) => Promise.all(workers.map((w) => w.close(ms - handBackMs(ms)))).then(() => undefined) });
    // The notifier: the notify job delivers outbox notices through the channels.
    const notifySender = await orStop(createNotifySender({ config, store, clock: systemClock }));
    steps.push({ name: 'fetcher', run: () => notifySender.close() });
    workers.push(createSupervisedWorker('notify', async (payload, { signal, log: jobLog }) => {
      await sendNotice(payload.noticeId, {
        ...notifySender.deps, log: jobLog, onDelivery: (e) => metrics.noticeDelivered(e.kind, e.channel, e.result),
      }, signal);
    }, workerOptions('notify', config.queue.workerConcurrency)));
    // a trace that makes the notice decision due decides it at once (the dispatcher is the net)
    const decideNow = createNoticeDecider({ config, store, queue: queues.notify, clock: systemClock, log });
    workers.push(createSupervisedWorker('trace', async (payload, { signal, log: jobLog }) => {
      await runTraceJob(payload, { store, tracer: traceParts.tracer, clock: systemClock, log: jobLog, onDecisionDue: decideNow }, signal);
    }, workerOptions('trace', config.queue.workerConcurrency)));
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
      onDispatched: (_count, lagMs) => metrics.scheduleLag(lagMs / 1000),
    });
    dispatcher.start();
    const reconciler = createCheckReconciler({
      store,
      queue: queues.check,
      clock: systemClock,
      leaseMs: config.queue.checkLease,
      // a row leased within the last pass is looked at by the next one; a too-short grace costs
      // only a redundant re-add (a no-op under the same job id)
      graceMs: Math.min(config.queue.reconcileInterval, config.queue.checkLease / 2),
      intervalMs: config.queue.reconcileInterval,
      log: log.child({ component: 'reconciler' }),
    });
    reconciler.start();
    const noticeDispatcher = createNoticeDispatcher({ config, store, queue: queues.notify, clock: systemClock, log });
    noticeDispatcher.start();
    steps.push({ name: 'dispatcher', run: () => noticeDispatcher.stop() });
    const completer = createSubmissionCompleter({
      store,
      clock: systemClock,
      intervalMs: Math.max(config.queue.dispatchInterval, 1000),
      log: log.child({ component: 'submission-completer' }),
    });
    completer.start();
    steps.push({ name: 'dispatcher', run: () => Promise.all([dispatcher.stop(), reconciler.stop(), completer.stop()]).then(() => undefined) });
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

  // Every role listens on http.host:http.port: the api role serves the API, the others only the
  // health routes and /metrics (the counters of checks and notices live in the workers).
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  {
    const deps: ApiDeps = {
      store,
      clock: systemClock,
      log,
      auth: createAuthenticator({ store, clock: systemClock, adminToken: config.auth.adminToken }),
      newId: randomUUID,
      readiness,
      requestCheck: async (reportId) => { await store.requestCheck(reportId, systemClock.now()); },
      limits: { maxItems: 100_000, maxBodyBytes: 50 * 1024 * 1024 },
      expireAfterMs: config.schedule.expireAfter,
      hashList,
      recipientIds: config.directory.recipients.map((r) => r.id),
      rateLimit: config.http.rateLimit,
      accepting: () => accepting,
      metrics: { metrics, public: config.http.metricsPublic },
      queues: queues.all(),
      admin: { secureCookies: config.http.publicUrl.startsWith('https:') },
    };
    app = await orStop(createApiServer(deps, { surface: runsApi ? 'full' : 'ops' }));
    const listening = app;
    await orStop(listening.listen({ host: config.http.host, port: config.http.port }).catch(async (err: unknown) => {
      await listening.close();
      throw new VigilError('CONFIG_INVALID', `http: cannot listen on ${config.http.host}:${config.http.port}: ${(err as Error).message}`, { cause: err });
    }));
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    const listeningUrl = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
    if (runsApi) url = listeningUrl;
    const server = app;
    steps.push({ name: 'http', run: async () => { accepting = false; await server.close(); } });
    log.info({ url: listeningUrl }, runsApi ? 'API listening' : 'health and metrics listening');
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
        const result = await runShutdown(ordered(), config.shutdown.deadline, log);
        log.info({ clean: result.clean }, 'vigil stopped');
        return result;
      })();
      return stopping;
    },
  };
}
