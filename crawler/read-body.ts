/**
 * What the crawler does with a response body (CONTRACT.md §7): decode it (crawler/decode-body.ts),
 * count it against the decoded-byte cap, and let it pass through in-memory consumers that keep
 * only what the rules need — a 64 KiB lower-cased text sample (takedown/challenge patterns), the
 * media references of an HTML page, and, under `mediaPolicy: hash`, digests. The body itself is
 * never kept, logged or written anywhere.
 *
 * Media bodies (image, video, audio, generic binary, unlabelled) are not read at all under
 * `metadata`; under `hash` they are read only to be hashed.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { findHashListMatch, type HashLookup } from '../core/content-digests.js';
import type { ContentDigests, HashListMatch, MediaPolicy } from '../core/fetcher.js';
import { BodyHasher } from './body-hasher.js';
import { decodeBody, decodeSmall, planDecoding, type ContentCoding } from './decode-body.js';
import { MediaRefCollector } from './media-ref-collector.js';

/** What readBody may read and what it looks for. */
export interface BodyLimits {
  /** stop after this many decoded bytes (and after this many encoded bytes) */
  maxBodyBytes: number;
  /** bytes of a text body decoded into the sample. @default 65536 */
  sampleBytes?: number;
  /** @default 'metadata' */
  mediaPolicy?: MediaPolicy;
  /** under `hash`, hash a body of any type (the item has hashes to compare). @default false */
  hashAnyType?: boolean;
  /** looked up with the digests; null = no hash list */
  hashList?: HashLookup | null;
  /** the response's URL: base of the media references of an HTML page */
  url?: string;
}

/** What readBody kept of a body: counts, a sample, references, digests — never the body. */
export interface BodyOutcome {
  /** decoded bytes read (encoded bytes when the encoding is not one vigil decodes) */
  bodyBytes: number;
  truncated: boolean;
  textSample: string | null;
  digests: ContentDigests | null;
  hashListMatch: HashListMatch | null;
  mediaRefs: string[] | null;
  mediaRefsCapped: boolean;
}

/** Bytes of a text body decoded into the lower-cased sample. */
export const DEFAULT_SAMPLE_BYTES = 64 * 1024;
/** an encoded body announced at up to this size is read whole and decoded in one synchronous call */
const SMALL_ENCODED_BYTES = 64 * 1024;
/** …as long as it decodes to at most this; beyond, it is decoded in streaming mode */
const SMALL_DECODED_BYTES = 1024 * 1024;

const SAMPLED_TYPES = new Set(['text/html', 'application/xhtml+xml', 'text/plain']);
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
// Bodies of these types are never read under `metadata`: images and video are exactly what vigil
// must not take in. A generic binary or unlabelled body may be either, so it is treated the same.
const UNREAD_PREFIXES = ['image/', 'video/', 'audio/'];
const UNREAD_TYPES = new Set(['', 'application/octet-stream', 'application/mp4', 'application/ogg', 'binary/octet-stream']);

/** The media type of a Content-Type value, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Whether the body of a response of this media type is media (not read under `metadata`). */
export function isUnreadMedia(type: string): boolean {
  return UNREAD_TYPES.has(type) || UNREAD_PREFIXES.some((p) => type.startsWith(p));
}

/**
 * The reason every unread body is destroyed with: one error made once. Destroying a stream reads
 * its error's `stack`, and with source maps on (tsx) formatting a fresh one cost ~30 µs — more
 * than the rest of a media check (bench/crawler-bench.ts).
 */
const UNREAD = new Error('body not read');

/** Drop a body unread; its stream's abort error is expected and swallowed. */
export function discardBody(body: Readable): void {
  body.on('error', ignore);
  body.destroy(UNREAD);
}

function ignore(): void {}

/**
 * The start of a text body, lower-cased at the end: the decoded text of its first `limit` bytes
 * (ASCII: exactly; where the limit falls inside a chunk of multi-byte text, at most `limit`
 * characters of that chunk).
 */
class TextSampler {
  private text = '';
  private taken = 0;

  constructor(private readonly limit: number) {}

  /** `text`: the chunk's bytes decoded (by the body's one decoder) */
  write(byteLength: number, text: string): void {
    if (this.taken >= this.limit) return;
    const room = this.limit - this.taken;
    this.taken += Math.min(room, byteLength);
    this.text += byteLength <= room ? text : text.slice(0, room);
  }

  end(): string {
    return this.text.toLowerCase();
  }
}

const NOTHING: BodyOutcome = {
  bodyBytes: 0,
  truncated: false,
  textSample: null,
  digests: null,
  hashListMatch: null,
  mediaRefs: null,
  mediaRefsCapped: false,
};

/**
 * Consume `body` under vigil's rules. Always leaves `body` finished or destroyed.
 * @throws ContentDecodingError (`encoding_chain`, `corrupt_<coding>`); what reading the stream
 *   throws (socket errors, body timeout, abort)
 */
export async function readBody(
  body: Readable,
  headers: Readonly<Record<string, string>>,
  limits: BodyLimits,
): Promise<BodyOutcome> {
  const type = mediaType(headers['content-type']);
  const hashing = (limits.mediaPolicy ?? 'metadata') === 'hash';
  const media = isUnreadMedia(type);
  if (media && !hashing) {
    discardBody(body);
    return { ...NOTHING };
  }

  let plan: ReturnType<typeof planDecoding>;
  try {
    plan = planDecoding(headers['content-encoding']);
  } catch (err) {
    discardBody(body);
    throw err;
  }
  // A body in an unknown coding is counted, never interpreted: no sample, references or digests.
  const decoded = plan.kind === 'decode';
  const sampler = decoded && SAMPLED_TYPES.has(type)
    ? new TextSampler(Math.min(limits.sampleBytes ?? DEFAULT_SAMPLE_BYTES, limits.maxBodyBytes))
    : null;
  const collector = decoded && HTML_TYPES.has(type) && limits.url !== undefined ? new MediaRefCollector(limits.url) : null;
  const hasher = decoded && hashing && (media || limits.hashAnyType === true) ? new BodyHasher() : null;
  // UTF-8 with a character split across chunks kept whole; Node's decoder, which is much cheaper
  // per chunk than TextDecoder in streaming mode
  const text = sampler !== null || collector !== null ? new StringDecoder('utf8') : null;

  const encoded = { truncated: false };
  let bytes = 0;
  let truncated = false;
  try {
    const source = plan.kind === 'decode' && plan.codings.length > 0
      ? await decodedSource(body, plan.codings, headers['content-length'], limits.maxBodyBytes, encoded)
      : (body as AsyncIterable<Buffer>);
    for await (const chunk of source) {
      const room = limits.maxBodyBytes - bytes;
      if (chunk.length > room) truncated = true;
      const kept = truncated ? chunk.subarray(0, room) : chunk;
      bytes += kept.length;
      if (text !== null) {
        // decoded once for the sample and the references
        const decoded = text.write(kept as Buffer);
        sampler?.write(kept.length, decoded);
        collector?.writeText(decoded);
      }
      hasher?.update(kept);
      if (truncated) break; // leaving the loop closes every decoding stage and the socket
    }
  } catch (err) {
    // a decoder that saw its input cut at the encoded cap reports a premature end: a truncation
    if (!encoded.truncated) throw err;
  } finally {
    if (!body.destroyed && !body.readableEnded) discardBody(body);
  }
  truncated ||= encoded.truncated;

  if (text !== null) {
    const rest = text.end();
    if (rest !== '') {
      sampler?.write(0, rest);
      collector?.writeText(rest);
    }
  }
  const refs = collector?.end() ?? null;
  const digests = hasher !== null && !truncated ? hasher.digest() : null;
  return {
    bodyBytes: bytes,
    truncated,
    textSample: sampler?.end() ?? null,
    digests,
    hashListMatch: digests === null ? null : findHashListMatch(digests, limits.hashList),
    mediaRefs: refs?.refs ?? null,
    mediaRefsCapped: refs?.capped ?? false,
  };
}

/**
 * The decoded bytes of an encoded body. One whose Content-Length announces a small size is read
 * whole and decoded at once (the common static page, without a stream per stage); any other is
 * decoded in streaming mode as it arrives, its encoded bytes capped too (a stream of empty deflate
 * blocks decodes to nothing, forever).
 */
async function decodedSource(
  body: Readable,
  codings: readonly ContentCoding[],
  announced: string | undefined,
  maxBodyBytes: number,
  encoded: { truncated: boolean },
): Promise<Iterable<Buffer> | AsyncIterable<Buffer>> {
  const small = Math.min(SMALL_ENCODED_BYTES, maxBodyBytes);
  if (announced === undefined || !/^\d{1,9}$/.test(announced) || Number(announced) > small) {
    return decodeBody(capBytes(body, maxBodyBytes, encoded), codings);
  }
  const upstream = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  // undici holds the server to its Content-Length; the bound here is for safety alone
  while (headBytes <= small) {
    const next = await upstream.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  if (ended) {
    const whole = decodeSmall(Buffer.concat(head), codings, Math.min(maxBodyBytes, SMALL_DECODED_BYTES));
    if (whole !== null) return [whole];
  }
  return decodeBody(capBytes(prepend(head, upstream, ended), maxBodyBytes, encoded), codings);
}

/** `head`, then the rest of `upstream` (unless it has ended); closing it closes `upstream`. */
async function* prepend(head: readonly Buffer[], upstream: AsyncIterator<Buffer>, ended: boolean): AsyncGenerator<Buffer> {
  try {
    yield* head;
    if (ended) return;
    for (;;) {
      const next = await upstream.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (!ended) await upstream.return?.();
  }
}

/** `source` up to `limit` bytes; past it, sets `state.truncated` and ends. */
async function* capBytes(source: AsyncIterable<Buffer>, limit: number, state: { truncated: boolean }): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of source) {
    const room = limit - bytes;
    if (chunk.length > room) {
      state.truncated = true;
      if (room > 0) yield chunk.subarray(0, room);
      return;
    }
    bytes += chunk.length;
    yield chunk;
  }
}
