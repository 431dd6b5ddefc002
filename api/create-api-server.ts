/**
 * The HTTP API (fastify). Routes receive their dependencies as arguments; nothing here builds a
 * store, a queue or a fetcher (daemon/ does).
 *
 * Requests are validated by the routes' zod schemas (fastify-type-provider-zod), and the same
 * schemas make the OpenAPI document at `/docs/json`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { ApiDeps } from './api-deps.js';
import { createGuards } from './guards.js';
import { registerAdmin } from './admin/register-admin.js';
import { registerMetricsRoute } from './metrics/metrics-route.js';
import { registerOpenApi } from './openapi.js';
import { errorHandler, sendProblem } from './problem.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerNoticeRoutes } from './routes/notice-routes.js';
import { registerReportRoutes } from './routes/report-routes.js';
import { registerSubmissionIntake } from './routes/submission-intake-route.js';
import { registerSubmissionReadRoutes } from './routes/submission-read-routes.js';

/** A query parameter that carries a credential (the ack link's `token`). */
const TOKEN_PARAM = /([?&]token=)[^&#]*/gi;

/** What a request log line says of the request: fastify's default fields, the URL's tokens masked. */
function requestForLog(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }): Record<string, unknown> {
  return {
    method: req.method,
    url: (req.url ?? '').replace(TOKEN_PARAM, '$1[redacted]'),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * The HTTP server of a process. `full` (a process with the `api` role): the API, `/admin`, the
 * health routes and `/metrics`. `ops` (a `worker` or `scheduler` process): only `/healthz`,
 * `/readyz` and `/metrics`, so that the counters those roles keep (checks, notices, schedule lag)
 * can be scraped where they are counted.
 */
export async function createApiServer(deps: ApiDeps, options: { surface?: 'full' | 'ops' } = {}): Promise<FastifyInstance> {
  const full = (options.surface ?? 'full') === 'full';
  const app = Fastify({
    // Request bodies are submissions: never log them; the default serializers log no bodies. The
    // request's URL is logged with its `token=` values (acknowledgement links) masked.
    loggerInstance: deps.log.child({ component: 'api' }, { serializers: { req: requestForLog } }) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    genReqId: () => deps.newId(),
    return503OnClosing: true,
  });
  app.decorateRequest('principal', null);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler(deps.log));
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`));
  const guards = createGuards({ auth: deps.auth, clock: deps.clock, rateLimit: deps.rateLimit ?? null });
  if (full) await registerOpenApi(app, deps.version ?? '0.0.0');
  registerHealthRoutes(app, deps);
  if (deps.metrics) registerMetricsRoute(app, deps.metrics, guards);
  if (full) {
    registerAdminRoutes(app, deps, guards);
    registerSubmissionIntake(app, deps, guards);
    registerSubmissionReadRoutes(app, deps, guards);
    registerReportRoutes(app, deps, guards);
    registerNoticeRoutes(app, deps, guards);
    // The operator pages (/admin, /admin/queues): an encapsulated plugin with its own session auth.
    await registerAdmin(app, {
      store: deps.store, auth: deps.auth, clock: deps.clock, log: deps.log, requestCheck: deps.requestCheck, queues: deps.queues, ...deps.admin,
    });
  }
  await app.ready();
  return app;
}
