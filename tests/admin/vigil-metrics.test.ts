/**
 * api/metrics/vigil-metrics.ts: its own registry (never the global one), the §8 names, gauges
 * read on scrape through a short cache shared by concurrent scrapes, and a failed read that
 * leaves the gauge empty for that scrape without failing it.
 */
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createVigilMetrics } from '../../api/metrics/vigil-metrics.js';

describe('vigil metrics', () => {
  it('keeps two daemons apart and stays out of the global registry', async () => {
    const a = createVigilMetrics({ processMetrics: false });
    const b = createVigilMetrics({ processMetrics: false });
    a.observeCheck('live', 1);
    expect((await a.render()).body).toMatch(/^vigil_checks_total\{outcome="live"\} 1$/m);
    expect((await b.render()).body).toMatch(/^vigil_checks_total\{outcome="live"\} 0$/m);
    expect(await globalRegistry.getSingleMetric('vigil_checks_total')).toBeUndefined();
  });

  it('reads the gauges once per cache period, also for concurrent scrapes', async () => {
    let t = 0;
    let reads = 0;
    const m = createVigilMetrics({
      processMetrics: false, cacheMs: 5000, nowMs: () => t,
      reportCounts: async () => { reads += 1; return { live: reads, removed: 2 }; },
      queueJobs: async () => ({ check: { waiting: 4, active: 1 } }),
    });
    const [one, two] = await Promise.all([m.render(), m.render()]);
    expect(reads).toBe(1);
    expect(one.body).toBe(two.body);
    expect(one.body).toMatch(/^vigil_reports\{status="live"\} 1$/m);
    expect(one.body).toMatch(/^vigil_queue_jobs\{queue="check",state="waiting"\} 4$/m);
    t = 4999;
    await m.render();
    expect(reads).toBe(1);
    t = 5000;
    expect((await m.render()).body).toMatch(/^vigil_reports\{status="live"\} 2$/m);
  });

  it('drops a gauge whose read failed for that scrape, tells, and reads again next time', async () => {
    const errors: string[] = [];
    let fail = true;
    const m = createVigilMetrics({
      processMetrics: false, cacheMs: 60_000,
      reportCounts: async () => { if (fail) throw new Error('db down'); return { live: 1 }; },
      onCollectError: (metric) => errors.push(metric),
    });
    const first = await m.render();
    expect(first.body).toContain('# TYPE vigil_reports gauge');
    expect(first.body).not.toMatch(/^vigil_reports\{/m);
    expect(errors).toEqual(['vigil_reports']);
    fail = false;
    expect((await m.render()).body).toMatch(/^vigil_reports\{status="live"\} 1$/m);
  });

  it('records checks, notices and lag under the contract names, with process metrics', async () => {
    const m = createVigilMetrics();
    m.observeCheck('inconclusive', 12);
    m.observeCheck('refused', Number.NaN);
    m.noticeDelivered('realert', 'email', 'retry');
    m.scheduleLag(0.2);
    const { body, contentType } = await m.render();
    expect(contentType).toContain('text/plain');
    expect(body).toMatch(/^vigil_check_duration_seconds_bucket\{le="20"\} 2$/m);
    expect(body).toMatch(/^vigil_check_duration_seconds_bucket\{le="10"\} 1$/m);
    expect(body).toMatch(/^vigil_notices_total\{kind="realert",channel="email",result="retry"\} 1$/m);
    expect(body).toMatch(/^vigil_schedule_lag_seconds_bucket\{le="0.5"\} 1$/m);
    expect(body).toMatch(/^process_cpu_user_seconds_total /m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});
