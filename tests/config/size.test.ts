import { describe, expect, it } from 'vitest';
import { formatSize, parseSize, size, sizeSchema, tryParseSize } from '../../config/size.js';

describe('parseSize', () => {
  it.each([
    ['512B', 512],
    ['0B', 0],
    ['64KB', 65_536],
    ['64KiB', 65_536],
    ['10MB', 10_485_760],
    ['10MiB', 10_485_760],
    ['1GB', 1_073_741_824],
    ['1GiB', 1_073_741_824],
    ['2TB', 2 * 1024 ** 4],
    ['1.5KB', 1_536],
    ['0.5MB', 524_288],
    ['10mb', 10_485_760],
    ['10 MB', 10_485_760],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'big', '10', '-1KB', 'MB', '10XB', '10M', '10K', '1e3B', '.5MB', '9'.repeat(400) + 'GB'])('%j is refused', (text) => {
    expect(tryParseSize(text)).toBeUndefined();
    expect(() => parseSize(text)).toThrow(RangeError);
  });

  it('takes a bare non-negative integer as bytes', () => {
    expect(tryParseSize(1_048_576)).toBe(1_048_576);
    expect(tryParseSize(0)).toBe(0);
    expect(tryParseSize(-1)).toBeUndefined();
    expect(tryParseSize(1.5)).toBeUndefined();
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0B'],
    [512, '512B'],
    [1_024, '1KB'],
    [1_536, '1536B'],
    [65_536, '64KB'],
    [10_485_760, '10MB'],
    [1_073_741_824, '1GB'],
    [3 * 1024 ** 4, '3TB'],
  ])('%d bytes print as %j', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('round-trips', () => {
    for (const bytes of [1, 1_023, 1_024, 1_025, 10_485_760, 10_485_761, 5 * 1024 ** 3]) {
      expect(parseSize(formatSize(bytes))).toBe(bytes);
    }
  });
});

describe('sizeSchema', () => {
  it('outputs bytes', () => {
    expect(sizeSchema.parse('64KB')).toBe(65_536);
  });

  it('explains what it expected', () => {
    expect(sizeSchema.safeParse('huge').error?.issues[0]?.message).toBe('expected a size such as 512B, 64KB, 10MB or 1GB');
    expect(sizeSchema.safeParse('-1KB').error?.issues[0]?.message).toBe('must not be negative');
  });

  it('enforces a minimum', () => {
    expect(size({ min: 1 }).safeParse('0B').error?.issues[0]?.message).toBe('must be at least 1B');
  });
});
