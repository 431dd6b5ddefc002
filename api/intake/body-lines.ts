/**
 * A request body as a stream of numbered lines, read chunk by chunk: the body is never held
 * whole, its size is capped while it arrives, and its digest is computed on the way (the
 * request fingerprint of `Idempotency-Key`).
 *
 * Lines split on LF at the byte level (a UTF-8 multi-byte sequence never contains 0x0A), a
 * trailing CR is dropped, a leading byte-order mark is dropped, and each line says whether it
 * was valid UTF-8, so a line of another encoding is rejected on its own rather than read as
 * replacement characters.
 */
import { isUtf8 } from 'node:buffer';
import type { Hash } from 'node:crypto';
import { VigilError } from '../../core/errors.js';

export interface BodyLine {
  /** 1-based physical line number */
  line: number;
  text: string;
  utf8: boolean;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Passes the chunks through, counting bytes into `hash`.
 * @throws VigilError PAYLOAD_TOO_LARGE as soon as more than `maxBytes` have arrived
 */
export async function* meteredChunks(source: AsyncIterable<Buffer | string>, maxBytes: number, hash: Hash): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    total += chunk.length;
    if (total > maxBytes) {
      throw new VigilError('PAYLOAD_TOO_LARGE', `The body is larger than ${maxBytes} bytes, the most one submission may be. Split the list.`);
    }
    hash.update(chunk);
    yield chunk;
  }
}

function toLine(line: number, parts: Buffer[]): BodyLine {
  let bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  if (line === 1 && bytes.subarray(0, 3).equals(BOM)) bytes = bytes.subarray(3);
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
  return { line, text: bytes.toString('utf8'), utf8: isUtf8(bytes) };
}

/** Numbered lines of the byte stream; a last line without LF is a line too. */
export async function* bodyLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<BodyLine> {
  let parts: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline < 0) {
        if (start < chunk.length) {
          parts.push(chunk.subarray(start));
          pendingBytes += chunk.length - start;
        }
        break;
      }
      parts.push(chunk.subarray(start, newline));
      yield toLine(++line, parts);
      parts = [];
      pendingBytes = 0;
      start = newline + 1;
    }
  }
  if (pendingBytes > 0) yield toLine(++line, parts);
}
