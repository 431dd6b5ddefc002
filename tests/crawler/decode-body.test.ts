/**
 * Content decoding on in-memory synthetic data: the plan from Content-Encoding, each coding,
 * chains in RFC 9110 order, raw vs wrapped deflate, corrupt and truncated data, and that
 * stopping early closes the source.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ContentDecodingError, decodeBody, decodeSmall, isZlibHeader, planDecoding } from '../../crawler/decode-body.js';
import { encodeSync } from './support/synthetic-bodies.js';

const TEXT = Buffer.from('<html><body>synthetic page, decoded by vigil</body></html>'.repeat(50));

/** A source that yields `data` in `size`-byte pieces and records whether it was closed early. */
function source(data: Buffer, size = 1024): AsyncIterable<Buffer> & { closed: boolean; pulled: number } {
  const state = {
    closed: false,
    pulled: 0,
    async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
      try {
        for (let i = 0; i < data.length; i += size) {
          state.pulled += Math.min(size, data.length - i);
          yield data.subarray(i, i + size);
        }
      } finally {
        if (state.pulled < data.length) state.closed = true;
      }
    },
  };
  return state;
}

async function collect(iterable: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of iterable) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('planDecoding', () => {
  test.each([
    [undefined, { kind: 'decode', codings: [] }],
    ['', { kind: 'decode', codings: [] }],
    ['identity', { kind: 'decode', codings: [] }],
    ['gzip', { kind: 'decode', codings: ['gzip'] }],
    ['X-Gzip', { kind: 'decode', codings: ['gzip'] }],
    [' deflate , br ', { kind: 'decode', codings: ['deflate', 'br'] }],
    ['gzip, gzip, gzip', { kind: 'decode', codings: ['gzip', 'gzip', 'gzip'] }],
    ['zstd', { kind: 'opaque', coding: 'zstd' }],
    ['gzip, compress', { kind: 'opaque', coding: 'compress' }],
  ] as const)('%j → %j', (header, plan) => {
    expect(planDecoding(header)).toEqual(plan);
  });

  test.each(['gzip, gzip, gzip, gzip', Array.from({ length: 1000 }, () => 'gzip').join(', '), 'a, b, c, d'])(
    'more than 3 codings → encoding_chain (%#)',
    (header) => {
      expect(() => planDecoding(header)).toThrow(ContentDecodingError);
      expect(() => planDecoding(header)).toThrow(expect.objectContaining({ code: 'VIGIL_CONTENT_DECODING', detail: 'encoding_chain' }));
    },
  );
});

describe('decodeBody', () => {
  test.each(['gzip', 'br', 'deflate'] as const)('%s', async (coding) => {
    expect(await collect(decodeBody(source(encodeSync(coding, TEXT)), [coding]))).toEqual(TEXT);
  });

  test('deflate without the zlib wrapper (raw), as many servers send it', async () => {
    expect(await collect(decodeBody(source(encodeSync('deflate-raw', TEXT)), ['deflate']))).toEqual(TEXT);
  });

  test('deflate header detection survives a body dripped one byte at a time', async () => {
    for (const coding of ['deflate', 'deflate-raw'] as const) {
      expect(await collect(decodeBody(source(encodeSync(coding, TEXT), 1), ['deflate']))).toEqual(TEXT);
    }
  });

  test('isZlibHeader', () => {
    expect(isZlibHeader(encodeSync('deflate', TEXT))).toBe(true);
    expect(isZlibHeader(encodeSync('deflate-raw', TEXT))).toBe(false);
    expect(isZlibHeader(new Uint8Array([0x78]))).toBe(false);
  });

  test('a chain is undone in reverse order of application: "gzip, br" = gzip first, then br', async () => {
    const encoded = encodeSync('br', encodeSync('gzip', TEXT));
    expect(await collect(decodeBody(source(encoded), ['gzip', 'br']))).toEqual(TEXT);
    await expect(collect(decodeBody(source(encoded), ['br', 'gzip']))).rejects.toThrow(ContentDecodingError);
  });

  test('an empty body decodes to nothing, without error', async () => {
    for (const coding of ['gzip', 'br', 'deflate'] as const) {
      expect((await collect(decodeBody(source(Buffer.alloc(0)), [coding]))).length).toBe(0);
    }
  });

  test.each([
    ['gzip', Buffer.from('1f8b0800000000000003deadbeefdeadbeefdeadbeef', 'hex')],
    ['br', Buffer.from('definitely not a brotli stream, synthetic')],
    ['deflate', Buffer.from('78 9c ff ff ff ff ff ff ff'.replace(/ /g, ''), 'hex')],
  ] as const)('corrupt %s data → corrupt_<coding>', async (coding, data) => {
    await expect(collect(decodeBody(source(data), [coding]))).rejects.toMatchObject({ name: 'ContentDecodingError', detail: `corrupt_${coding}` });
  });

  test('a gzip body that ends early → corrupt_gzip', async () => {
    const cut = encodeSync('gzip', TEXT).subarray(0, 40);
    await expect(collect(decodeBody(source(cut), ['gzip']))).rejects.toMatchObject({ detail: 'corrupt_gzip' });
  });

  test('an error of the source passes through unchanged, not as a decoding error', async () => {
    const failing = {
      async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
        yield encodeSync('gzip', TEXT).subarray(0, 20);
        throw Object.assign(new Error('socket reset'), { code: 'ECONNRESET' });
      },
    };
    await expect(collect(decodeBody(failing, ['gzip']))).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  test('stopping early closes every stage down to the source', async () => {
    // random bytes do not compress: the encoded source is as long as the decoded body
    const big = encodeSync('gzip', encodeSync('gzip', randomBytes(2 * 1024 * 1024)));
    const src = source(big, 16 * 1024);
    for await (const chunk of decodeBody(src, ['gzip', 'gzip'])) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await expect.poll(() => src.closed).toBe(true);
    expect(src.pulled).toBeLessThan(big.length);
  });
});

describe('decodeSmall (one-shot decoding of a small body held whole)', () => {
  test.each(['gzip', 'br', 'deflate', 'deflate-raw'] as const)('%s', (coding) => {
    const codingName = coding === 'deflate-raw' ? 'deflate' : coding;
    expect(decodeSmall(encodeSync(coding, TEXT), [codingName], 1024 * 1024)).toEqual(TEXT);
  });

  test('a chain, in reverse order of application', () => {
    expect(decodeSmall(encodeSync('br', encodeSync('gzip', TEXT)), ['gzip', 'br'], 1024 * 1024)).toEqual(TEXT);
  });

  test('empty decodes to empty; output of exactly maxOutput is accepted', () => {
    expect(decodeSmall(Buffer.alloc(0), ['gzip'], 10)?.length).toBe(0);
    expect(decodeSmall(encodeSync('gzip', TEXT), ['gzip'], TEXT.length)).toEqual(TEXT);
  });

  test('output over maxOutput → null (the caller streams instead): a bomb never gets decoded whole', () => {
    expect(decodeSmall(encodeSync('gzip', TEXT), ['gzip'], TEXT.length - 1)).toBeNull();
    expect(decodeSmall(encodeSync('br', Buffer.alloc(64 * 1024 * 1024)), ['br'], 1024 * 1024)).toBeNull();
  });

  test('corrupt or cut data → corrupt_<coding>', () => {
    expect(() => decodeSmall(encodeSync('gzip', TEXT).subarray(0, 40), ['gzip'], 1024 * 1024)).toThrow(
      expect.objectContaining({ detail: 'corrupt_gzip' }),
    );
    expect(() => decodeSmall(Buffer.from('not brotli, synthetic'), ['br'], 1024)).toThrow(expect.objectContaining({ detail: 'corrupt_br' }));
  });
});
