/**
 * The HTTP API (fastify). Routes receive their dependencies as arguments; nothing here builds a
 * store, a queue or a fetcher (daemon/ does).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDeps } from './api-deps.js';
import { errorHandler, sendProblem } from './problem.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerReportRoutes } from './routes/report-routes.js';
import { registerSubmissionRoutes } from './routes/submission-routes.js';

export async function createApiServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    // Request bodies are submissions: never log them; the default serializers log no bodies.
    bodyLimit: 1024 * 1024,
    genReqId: () => deps.newId(),
    return503OnClosing: true,
  });
  app.decorateRequest('principal', null);
  app.setErrorHandler(errorHandler(deps.log));
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`));

  // text/plain is built in; CSV arrives as text too.
  app.addContentTypeParser(['text/csv'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  registerHealthRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerSubmissionRoutes(app, deps);
  registerReportRoutes(app, deps);
  await app.ready();
  return app;
}
