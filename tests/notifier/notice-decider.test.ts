/**
 * The decider a trace calls when it made a report's notice decision due (daemon/notifier-parts.ts
 * createNoticeDecider), on real PostgreSQL and Redis/BullMQ: it writes the notices once and
 * queues each under the job id of its first dispatch — the id the outbox dispatcher would use —
 * and leaves batched notices (`notices.batchWindow`) to the dispatcher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load-config.js';
import { createNoticeDecider } from '../../daemon/notifier-parts.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { deletePrefixKeys, newPrefix, tempDir, TEST_REDIS_URL } from '../queue/support.js';
import { openTestStore, seedLiveReport, silentLog, testClock, webhookRecipient, type TestStore } from './support.js';

const prefix = newPrefix();
const clock = testClock();
let db: TestStore;
let handle: RedisHandle;
let queues: Queues;
let removeDir: () => Promise<void>;

const recipients = [
  webhookRecipient('hotline-nl', 'hotline', ['NL'], 'http://127.0.0.1:9/nl'),
  webhookRecipient('tf-nl', 'task_force', ['NL'], 'http://127.0.0.1:9/tf'),
];
const configWith = (batchWindow: string) => parseConfig({ notices: { batchWindow }, directory: { homeCountry: 'GB', recipients } }, {});

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  db = await openTestStore();
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log: silentLog, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
}, 60_000);

afterAll(async () => {
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await db?.close();
  await removeDir?.();
});

async function noticeIds(reportId: string): Promise<string[]> {
  const { rows } = await db.store.sql.query<{ id: string }>('SELECT id FROM notices WHERE report_id = $1 ORDER BY id', [reportId]);
  return rows.map((r) => r.id);
}

describe('createNoticeDecider', () => {
  it('writes the notices and queues each as notify.<id>; deciding again writes and queues nothing more', async () => {
    const decide = createNoticeDecider({ config: configWith('0s'), store: db.store, queue: queues.notify, clock, log: silentLog });
    const { reportId } = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    await decide(reportId);
    const ids = await noticeIds(reportId);
    expect(ids).toHaveLength(2); // the NL hotline and the NL task force
    for (const id of ids) expect((await queues.notify.getJob(`notify.${id}`))?.data).toEqual({ noticeId: id });
    const queued = await queues.notify.getJobCounts();

    await decide(reportId);
    expect(await noticeIds(reportId)).toEqual(ids);
    expect(await queues.notify.getJobCounts()).toEqual(queued);
  });

  it('with a batch window, writes the notices but leaves them to the dispatcher', async () => {
    const decide = createNoticeDecider({ config: configWith('60s'), store: db.store, queue: queues.notify, clock, log: silentLog });
    const { reportId } = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    await decide(reportId);
    const ids = await noticeIds(reportId);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(await queues.notify.getJob(`notify.${id}`)).toBeUndefined();
  });
});
