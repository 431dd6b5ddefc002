/**
 * `GET /metrics` (CONTRACT.md §4): the Prometheus exposition. An admin bearer token is needed
 * unless `http.metricsPublic: true`.
 */
import type { FastifyInstance } from 'fastify';
import type { Guards } from '../guards.js';
import type { VigilMetrics } from './vigil-metrics.js';

export interface MetricsRouteOptions {
  metrics: Pick<VigilMetrics, 'render'>;
  /** `http.metricsPublic` */
  public: boolean;
}

export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions, guards: Guards): void {
  app.get('/metrics', {
    ...(options.public ? {} : { onRequest: guards.allow(['admin']) }),
    schema: { summary: 'Prometheus metrics (admin token unless http.metricsPublic)', tags: ['health'] },
  }, async (_request, reply) => {
    const { contentType, body } = await options.metrics.render();
    return reply.header('cache-control', 'no-store').type(contentType).send(body);
  });
}
