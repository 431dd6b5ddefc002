import { describe, expect, it } from 'vitest';
import { duration, durationSchema, formatDuration, parseDuration, tryParseDuration } from '../../config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['0ms', 0],
    ['0s', 0],
    ['90s', 90_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['2.25m', 135_000],
    ['1.0004s', 1_000],
    ['1.0006s', 1_001],
    [' 30s ', 30_000],
    ['30 s', 30_000],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'fast', '30', '-5s', '5', 's', '1.s', '.5s', '5sec', '5S', '5M', '1h30m', '5w', '1e3ms', '0x10s', 'NaNs', '9'.repeat(400) + 'd'])(
    '%j is refused',
    (text) => {
      expect(tryParseDuration(text)).toBeUndefined();
      expect(() => parseDuration(text)).toThrow(RangeError);
    },
  );

  it('refuses non-strings', () => {
    for (const value of [30, null, undefined, true, ['30s'], { s: 30 }]) expect(tryParseDuration(value)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1ms'],
    [1_500, '1500ms'],
    [30_000, '30s'],
    [90_000, '90s'],
    [900_000, '15m'],
    [5_400_000, '90m'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [2_592_000_000, '30d'],
    [-30_000, '-30s'],
  ])('%d ms prints as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips whole milliseconds', () => {
    for (const ms of [0, 1, 999, 1_000, 61_000, 3_599_999, 3_600_000, 90 * 86_400_000, 123_456_789]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('durationSchema', () => {
  it('outputs milliseconds', () => {
    expect(durationSchema.parse('15m')).toBe(900_000);
  });

  it('explains what it expected', () => {
    const result = durationSchema.safeParse('fast');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('expected a duration such as 500ms, 90s, 15m, 24h or 7d');
  });

  it('says a negative duration is negative', () => {
    expect(durationSchema.safeParse('-5s').error?.issues[0]?.message).toBe('must not be negative');
  });

  it('enforces a minimum', () => {
    const schema = duration({ min: 1_000 });
    expect(schema.parse('1s')).toBe(1_000);
    expect(schema.safeParse('999ms').error?.issues[0]?.message).toBe('must be at least 1s');
  });
});
