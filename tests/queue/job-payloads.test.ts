import { describe, expect, it } from 'vitest';
import { isVigilError } from '../../core/errors.js';
import { buildJob, jobIdFor, parsePayload } from '../../queue/job-payloads.js';
import { queuePrefix } from '../../queue/queue-names.js';

const reportId = '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f';
const dueAt = '2026-06-01T12:00:00.000Z';

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isVigilError(err, 'JOB_PAYLOAD_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected JOB_PAYLOAD_INVALID');
}

describe('job payloads', () => {
  it('accepts the documented shapes', () => {
    expect(parsePayload('check', { reportId, dueAt, reason: 'scheduled' })).toEqual({ reportId, dueAt, reason: 'scheduled' });
    expect(parsePayload('trace', { reportId })).toEqual({ reportId });
    expect(parsePayload('trace', { reportId, checkId: 'check.x.1', ip: '2001:db8::1' })).toMatchObject({ ip: '2001:db8::1' });
    expect(parsePayload('notify', { noticeId: 'a1b2c3' })).toEqual({ noticeId: 'a1b2c3' });
  });

  it.each([
    ['check', { reportId: 'not-a-uuid', dueAt, reason: 'scheduled' }, 'reportId'],
    ['check', { reportId, dueAt: 'yesterday', reason: 'scheduled' }, 'dueAt'],
    ['check', { reportId, dueAt, reason: 'because' }, 'reason'],
    ['check', { reportId, dueAt, reason: 'initial', url: 'http://x' }, 'url'],
    ['check', { reportId, reason: 'initial' }, 'dueAt'],
    ['trace', { reportId, checkId: 'a:b' }, 'checkId'],
    ['trace', { reportId, ip: '999.1.1.1' }, 'ip'],
    ['notify', {}, 'noticeId'],
    ['notify', null, '(payload)'],
  ] as const)('rejects a bad %s payload naming the field (%j)', (queue, payload, field) => {
    const message = invalid(() => parsePayload(queue, payload));
    expect(message).toContain(field);
  });

  it('never echoes rejected values (they may be anything)', () => {
    const message = invalid(() => parsePayload('check', { reportId: 'http://secret.example/evidence', dueAt, reason: 'scheduled' }));
    expect(message).not.toContain('secret.example');
  });

  it('derives deterministic job ids BullMQ accepts (no ":", not an integer)', () => {
    expect(jobIdFor('check', { reportId, dueAt, reason: 'scheduled' })).toBe(`check.${reportId}.${Date.parse(dueAt)}`);
    // the same instant written with an offset is the same job
    expect(jobIdFor('check', { reportId, dueAt: '2026-06-01T14:00:00+02:00', reason: 'recheck' })).toBe(`check.${reportId}.${Date.parse(dueAt)}`);
    expect(jobIdFor('trace', { reportId, checkId: 'c1' })).toBe(`trace.${reportId}.c1`);
    expect(jobIdFor('trace', { reportId })).toBeUndefined();
    expect(jobIdFor('notify', { noticeId: 'n1' })).toBe('notify.n1');
    for (const id of [jobIdFor('check', { reportId, dueAt, reason: 'initial' }), jobIdFor('notify', { noticeId: '12345' })]) {
      expect(id).not.toContain(':');
      expect(String(Number.parseInt(id ?? '', 10))).not.toBe(id);
    }
  });

  it('buildJob validates before it builds', () => {
    expect(buildJob('notify', { noticeId: 'n1' })).toEqual({ name: 'notify', data: { noticeId: 'n1' }, opts: { jobId: 'notify.n1' } });
    expect(buildJob('trace', { reportId })).toEqual({ name: 'trace', data: { reportId }, opts: {} });
    invalid(() => buildJob('notify', { noticeId: '' }));
  });
});

describe('queuePrefix', () => {
  it('wraps the configured prefix in a cluster hash tag', () => {
    expect(queuePrefix()).toBe('{vigil}');
    expect(queuePrefix('acme')).toBe('{acme}');
    expect(queuePrefix('{already}:x')).toBe('{already}:x');
  });

  it('refuses prefixes that would break key names', () => {
    expect(() => queuePrefix('')).toThrow();
    expect(() => queuePrefix('a b')).toThrow();
    expect(() => queuePrefix('{open')).toThrow();
    expect(() => queuePrefix('close}')).toThrow();
  });
});
