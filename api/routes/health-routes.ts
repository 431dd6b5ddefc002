/** Liveness and readiness (CONTRACT.md §4): open to anyone, no data. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const report = await deps.readiness();
    return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'not_ready', checks: report.checks });
  });
}
