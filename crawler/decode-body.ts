/**
 * Content decoding done by vigil itself (issue 3 item 2): gzip, deflate (zlib-wrapped or raw)
 * and brotli, chained as `Content-Encoding` lists them, decoded in streaming mode so that the
 * byte cap counts decoded bytes and a bomb is stopped after about the cap, memory bounded.
 *
 * Each stage respects back-pressure (Node's zlib stops inflating while its output is unread),
 * so a consumer that stops reading stops the decompression; closing the consumer's iterator
 * unwinds every stage down to the socket.
 */
import { Readable, type Transform } from 'node:stream';
import {
  brotliDecompressSync,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
  gunzipSync,
  inflateRawSync,
  inflateSync,
} from 'node:zlib';

/** Codings vigil decodes. */
export type ContentCoding = 'gzip' | 'deflate' | 'br';

/** More codings than this in one `Content-Encoding` is a hostile response. @default 3 */
export const MAX_CONTENT_CODINGS = 3;

/** What to do with a body, from its `Content-Encoding`. */
export type DecodingPlan =
  | { kind: 'decode'; codings: ContentCoding[] }
  /** a coding vigil does not know: the body is counted as it is and never interpreted */
  | { kind: 'opaque'; coding: string };

const CODINGS: Readonly<Record<string, ContentCoding>> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'br' };

/** The only error code of this module: the body's encoding is hostile or corrupt. */
export class ContentDecodingError extends Error {
  readonly code = 'VIGIL_CONTENT_DECODING';
  /** `encoding_chain`, or `corrupt_<coding>` (e.g. `corrupt_gzip`) */
  readonly detail: string;

  constructor(detail: string, options?: { cause?: unknown }) {
    super(`VIGIL_CONTENT_DECODING: ${detail}`, options);
    this.name = 'ContentDecodingError';
    this.detail = detail;
  }
}

/**
 * Plan the decoding of a `Content-Encoding` value. `identity` entries are skipped.
 * @throws ContentDecodingError `encoding_chain` when more than `max` codings are listed
 */
export function planDecoding(contentEncoding: string | undefined, max = MAX_CONTENT_CODINGS): DecodingPlan {
  const listed = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (listed.length > max) throw new ContentDecodingError('encoding_chain');
  const codings: ContentCoding[] = [];
  for (const name of listed) {
    const coding = CODINGS[name];
    if (coding === undefined) return { kind: 'opaque', coding: name.slice(0, 32) };
    codings.push(coding);
  }
  return { kind: 'decode', codings };
}

/**
 * The decoded bytes of `source`, undoing `codings` in reverse order of application
 * (RFC 9110 §8.4: the last listed was applied last). An empty source decodes to nothing.
 * Iterating throws ContentDecodingError `corrupt_<coding>` when a stage's data is corrupt or
 * ends early; errors of `source` itself pass through unchanged.
 */
export function decodeBody(source: AsyncIterable<Buffer>, codings: readonly ContentCoding[]): AsyncIterable<Buffer> {
  let stream = source;
  for (const coding of [...codings].reverse()) stream = decodeStage(stream, coding);
  return stream;
}

/** A zlib-wrapped deflate stream starts with CMF/FLG: method 8, FCHECK making it divisible by 31. */
export function isZlibHeader(head: Uint8Array): boolean {
  const cmf = head[0];
  const flg = head[1];
  return cmf !== undefined && flg !== undefined && (cmf & 0x0f) === 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

function createDecoder(coding: ContentCoding, head: Buffer): Transform {
  switch (coding) {
    case 'gzip':
      return createGunzip();
    case 'br':
      return createBrotliDecompress();
    case 'deflate':
      // RFC 9110 says zlib-wrapped; many servers send raw deflate. Tell them apart by the header.
      return isZlibHeader(head) ? createInflate() : createInflateRaw();
  }
}

/**
 * Decode a small body held whole in memory, in one synchronous call per coding: the fast path
 * for the common small page, without a stream per stage. Each stage's output is bounded by
 * `maxOutput`, so the work is bounded too (no bomb gets past it).
 *
 * @returns the decoded bytes, or null when a stage would exceed `maxOutput` (the caller then
 *   decodes the same bytes in streaming mode, which truncates at the cap)
 * @throws ContentDecodingError `corrupt_<coding>` when the data is corrupt or ends early
 */
export function decodeSmall(encoded: Buffer, codings: readonly ContentCoding[], maxOutput: number): Buffer | null {
  let data = encoded;
  for (const coding of [...codings].reverse()) {
    if (data.length === 0) return data;
    const options = { maxOutputLength: Math.max(1, maxOutput) };
    try {
      switch (coding) {
        case 'gzip':
          data = gunzipSync(data, options);
          break;
        case 'br':
          data = brotliDecompressSync(data, options);
          break;
        case 'deflate':
          data = isZlibHeader(data) ? inflateSync(data, options) : inflateRawSync(data, options);
          break;
      }
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') return null;
      throw new ContentDecodingError(`corrupt_${coding}`, { cause: error });
    }
  }
  return data;
}

async function* decodeStage(source: AsyncIterable<Buffer>, coding: ContentCoding): AsyncGenerator<Buffer> {
  const upstream = source[Symbol.asyncIterator]();
  // Gather two bytes (deflate's header) before choosing the decoder; nothing at all → nothing.
  const head: Buffer[] = [];
  let headLength = 0;
  try {
    while (headLength < 2) {
      const next = await upstream.next();
      if (next.done) break;
      head.push(next.value);
      headLength += next.value.length;
    }
  } finally {
    if (headLength === 0) await upstream.return?.();
  }
  if (headLength === 0) return;

  const first = Buffer.concat(head);
  const decoder = createDecoder(coding, first);
  let upstreamFailure: { error: unknown } | null = null;
  let pending = [first];
  const input = new Readable({
    read() {
      const queued = pending.shift();
      if (queued !== undefined) {
        this.push(queued);
        return;
      }
      upstream.next().then(
        (next) => this.push(next.done ? null : next.value),
        (error: unknown) => {
          upstreamFailure = { error };
          this.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
    destroy(error, callback) {
      pending = [];
      // closes the stage below (or the socket); not awaited: it may wait on a pending read
      upstream.return?.().catch(() => {});
      callback(error);
    },
  });
  input.on('error', (error) => decoder.destroy(error));
  decoder.on('close', () => input.destroy());
  decoder.on('error', () => {}); // surfaced by the iterator below
  input.pipe(decoder);
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } catch (error) {
    if (upstreamFailure !== null) throw (upstreamFailure as { error: unknown }).error;
    throw new ContentDecodingError(`corrupt_${coding}`, { cause: error });
  } finally {
    decoder.destroy();
  }
}
