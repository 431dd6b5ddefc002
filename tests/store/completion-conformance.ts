/**
 * Store conformance for submission completion: complete only when every item has had its first
 * check and every report seen live has a trace; completing writes the force's
 * `submission.completed` notice once (only when it has a webhook), whichever store asks.
 * Run by store-conformance.ts against PostgreSQL and embedded.
 */
import { expect, it } from 'vitest';
import type { NewSubmissionItem } from '../../core/store.js';
import type { OutboxHarness } from './outbox-conformance.js';

const ALL = 1_000_000;

export function runCompletionConformance(h: () => OutboxHarness): void {
  const item = (line: number, url: string, initialStatus: 'pending' | 'refused' = 'pending'): NewSubmissionItem =>
    ({ line, input: url, url, initialStatus });
  const completedAt = async (id: string) =>
    (await h().store.sql.query<{ completed_at: Date | null }>('SELECT completed_at FROM submissions WHERE id = $1', [id])).rows[0]!.completed_at;
  const forceNotices = async (id: string) =>
    (await h().store.sql.query<{ kind: string; target: string }>('SELECT kind, target FROM notices WHERE submission_id = $1', [id])).rows;
  const reportOf = async (url: string) =>
    (await h().store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url])).rows[0]!.id;

  async function submission(webhook: boolean): Promise<{ id: string; urls: string[] }> {
    const { store, unique, at } = h();
    const forceId = unique('force');
    await store.createForce({
      id: forceId, name: `Force ${forceId}`,
      ...(webhook ? { webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: 'whsec_c3ludGhldGljLXNlY3JldC1rZXk=' } : {}),
    });
    const urls = [`https://${unique('a')}.test/x`, `https://${unique('b')}.test/y`, `ftp://${unique('c')}.test/z`];
    const id = unique('sub');
    await store.createSubmission({ id, forceId, reference: null, now: at(0), items: [item(1, urls[0]!), item(2, urls[1]!), item(3, urls[2]!, 'refused')] });
    return { id, urls };
  }

  it('completes when every item is checked and every live report traced, once, with the force notice', async () => {
    const { store, other, at, unique } = h();
    const { id, urls } = await submission(true);
    expect(await store.completeSubmissions(at(1), ALL)).not.toContain(id);

    // first item checked: never seen live
    await store.sql.query(`UPDATE reports SET status = 'unreachable', last_checked_at = $2 WHERE url = $1`, [urls[0], at(2)]);
    expect(await store.completeSubmissions(at(2), ALL)).not.toContain(id);

    // second item seen live, not yet traced: still open
    await store.sql.query(`UPDATE reports SET status = 'live', last_checked_at = $2, first_seen_live_at = $2 WHERE url = $1`, [urls[1], at(3)]);
    expect(await store.completeSubmissions(at(3), ALL)).not.toContain(id);
    expect(await completedAt(id)).toBeNull();

    await store.recordTrace({
      id: unique('trace'), reportId: await reportOf(urls[1]!), checkId: null, tracedAt: at(4), now: at(4),
      hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting NL', viaCdn: false },
      provenance: { target: urls[1] },
    });
    const [a, b] = await Promise.all([store.completeSubmissions(at(5), ALL), other.completeSubmissions(at(5), ALL)]);
    expect([...a, ...b].filter((s) => s === id)).toEqual([id]);
    expect(await completedAt(id)).toEqual(at(5));
    expect(await forceNotices(id)).toEqual([{ kind: 'submission_completed', target: 'force' }]);

    // asked again: nothing new
    expect(await store.completeSubmissions(at(6), ALL)).not.toContain(id);
    expect(await forceNotices(id)).toHaveLength(1);
  });

  it('a force without a webhook gets its submission completed and no notice', async () => {
    const { store, at } = h();
    const { id, urls } = await submission(false);
    await store.sql.query(`UPDATE reports SET status = 'unreachable', last_checked_at = $2 WHERE url = ANY($1::text[])`, [urls.slice(0, 2), at(2)]);
    expect(await store.completeSubmissions(at(3), ALL)).toContain(id);
    expect(await forceNotices(id)).toEqual([]);
  });
}
