/**
 * `/admin/queues`: the BullMQ dashboard (bull-board), behind the `/admin` session.
 *
 * Two boards over the same queues: the full one at `/admin/queues` for admins, and a read-only
 * one at `/admin/queues/view` (every queue adapter in `readOnlyMode`: no retry, clean, promote,
 * pause or add buttons, and the API answers 405 to them). An analyst asking for the full board is
 * sent to the read-only one, and any request of an analyst that would change a queue (any method
 * other than GET/HEAD under `/admin/queues`) is refused with 403 before bull-board sees it — the
 * server, not the UI, is what enforces read-only. Payloads carry ids only, never URLs or content.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export const BOARD_PATH = '/admin/queues';
export const READ_ONLY_BOARD_PATH = '/admin/queues/view';

const READS = new Set(['GET', 'HEAD']);

function board(queues: readonly Queue[], basePath: string, readOnlyMode: boolean): FastifyAdapter {
  const adapter = new FastifyAdapter();
  adapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode, allowRetries: !readOnlyMode })),
    // @bull-board/fastify pins its own copy of @bull-board/api (a patch release apart): the
    // same interface at run time, two declarations to the type checker.
    serverAdapter: adapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: {
      uiConfig: {
        boardTitle: readOnlyMode ? 'vigil queues (read-only)' : 'vigil queues',
        miscLinks: [{ text: 'Back to vigil', url: '/admin' }],
        hideDocsLink: true,
      },
    },
  });
  return adapter;
}

/**
 * Registers both boards under the current (`/admin`) plugin, whose session hook has already
 * authenticated the request; `roleOf` reads the role it found.
 */
export async function registerQueueBoards(app: FastifyInstance, queues: readonly Queue[], roleOf: (request: FastifyRequest) => 'admin' | 'analyst' | null): Promise<void> {
  const full = board(queues, BOARD_PATH, false);
  const readOnly = board(queues, READ_ONLY_BOARD_PATH, true);

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const url = request.url;
      // the read-only board is open to both roles, but never changes anything
      if (url === READ_ONLY_BOARD_PATH || url.startsWith(`${READ_ONLY_BOARD_PATH}/`) || url.startsWith(`${READ_ONLY_BOARD_PATH}?`)) {
        if (!READS.has(request.method)) return reply.code(403).send({ error: 'The read-only queue board changes nothing.' });
        return;
      }
      if (roleOf(request) === 'admin') return;
      if (!READS.has(request.method)) {
        return reply.code(403).send({ error: 'Analysts may look at the queues, not change them.' });
      }
      // an analyst on the full board's pages: the same page on the read-only board
      if (!url.startsWith(`${BOARD_PATH}/api/`) && !url.startsWith(`${BOARD_PATH}/static/`)) {
        return reply.redirect(READ_ONLY_BOARD_PATH + url.slice(BOARD_PATH.length), 303);
      }
    });
    await scope.register(readOnly.registerPlugin(), { prefix: '/view' });
    await scope.register(full.registerPlugin());
  }, { prefix: '/queues' });
}
