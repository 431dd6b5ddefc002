/**
 * What the crawler does with a response body: count it and throw it away (CONTRACT.md §7).
 * Media bodies are not read at all (`mediaPolicy: metadata`). Of an HTML or plain-text body the
 * first bytes are decoded into a lower-cased sample for takedown/challenge patterns; that sample
 * lives only in the fetch result and is never logged or stored.
 */
import type { Readable } from 'node:stream';

export interface BodyLimits {
  /** stop reading after this many bytes */
  maxBodyBytes: number;
  /** bytes of a text body decoded into the sample. @default 65536 */
  sampleBytes?: number;
}

export interface BodyOutcome {
  bodyBytes: number;
  truncated: boolean;
  textSample: string | null;
}

export const DEFAULT_SAMPLE_BYTES = 64 * 1024;

const SAMPLED_TYPES = new Set(['text/html', 'text/plain']);
// Bodies of these types are never read: images and video are exactly what vigil must not take
// in. A generic binary or unlabelled body may be either, so it is treated the same way.
const UNREAD_PREFIXES = ['image/', 'video/', 'audio/'];
const UNREAD_TYPES = new Set(['', 'application/octet-stream', 'application/mp4', 'application/ogg', 'binary/octet-stream']);

/** The media type of a Content-Type value, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Whether the body of a response of this media type must not be read. */
export function isUnreadMedia(type: string): boolean {
  return UNREAD_TYPES.has(type) || UNREAD_PREFIXES.some((p) => type.startsWith(p));
}

/** Drop a body unread; its stream's abort error is expected and swallowed. */
export function discardBody(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * Consume `body` under vigil's rules. Always leaves `body` finished or destroyed.
 * @throws what reading the stream throws (socket errors, body timeout, abort)
 */
export async function readBody(
  body: Readable,
  headers: Readonly<Record<string, string>>,
  limits: BodyLimits,
): Promise<BodyOutcome> {
  const type = mediaType(headers['content-type']);
  if (isUnreadMedia(type)) {
    discardBody(body);
    return { bodyBytes: 0, truncated: false, textSample: null };
  }

  const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  // vigil asks for identity; a server that compresses anyway gets no sample (not decoded yet).
  const sampling = SAMPLED_TYPES.has(type) && (encoding === 'identity' || encoding === '');
  const sampleLimit = Math.min(limits.sampleBytes ?? DEFAULT_SAMPLE_BYTES, limits.maxBodyBytes);
  const decoder = sampling ? new TextDecoder('utf-8') : null;
  let sample = '';
  let sampled = 0;
  let bytes = 0;
  let truncated = false;

  try {
    for await (const raw of body) {
      const chunk = raw as Uint8Array;
      const room = limits.maxBodyBytes - bytes;
      if (chunk.length > room) {
        truncated = true;
      }
      const kept = truncated ? chunk.subarray(0, room) : chunk;
      bytes += kept.length;
      if (decoder !== null && sampled < sampleLimit) {
        const part = kept.subarray(0, sampleLimit - sampled);
        sampled += part.length;
        sample += decoder.decode(part, { stream: true });
      }
      if (truncated) break; // leaving the loop destroys the stream
    }
  } finally {
    if (!body.destroyed && !body.readableEnded) discardBody(body);
  }

  return {
    bodyBytes: bytes,
    truncated,
    textSample: decoder === null ? null : (sample + decoder.decode()).toLowerCase(),
  };
}
