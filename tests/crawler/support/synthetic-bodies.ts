/**
 * Synthetic bodies for crawler tests, generated on the fly: zeros (compression bombs), filler
 * pages, random bytes. Nothing is precomputed at full size: a 1 GB bomb is streamed zeros piped
 * through zlib, so the test process never holds it.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { Readable, pipeline, type Transform } from 'node:stream';
import zlib from 'node:zlib';

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** A stream of `total` zero bytes that counts what it has produced (`produced()`). */
export function zeros(total: number, chunk = 64 * KIB): { stream: Readable; produced(): number } {
  const block = Buffer.alloc(chunk);
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, total - produced);
      produced += n;
      this.push(block.subarray(0, n));
    },
  });
  return { stream, produced: () => produced };
}

export type Coding = 'gzip' | 'deflate' | 'deflate-raw' | 'br';

/** A streaming encoder for a coding (brotli at a low quality: fast enough to stream a bomb). */
export function encoder(coding: Coding): Transform {
  switch (coding) {
    case 'gzip':
      return zlib.createGzip({ level: 9 });
    case 'deflate':
      return zlib.createDeflate();
    case 'deflate-raw':
      return zlib.createDeflateRaw();
    case 'br':
      return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
  }
}

/** Encode a small in-memory body (test fixtures only). */
export function encodeSync(coding: Coding, data: Buffer): Buffer {
  switch (coding) {
    case 'gzip':
      return zlib.gzipSync(data);
    case 'deflate':
      return zlib.deflateSync(data);
    case 'deflate-raw':
      return zlib.deflateRawSync(data);
    case 'br':
      return zlib.brotliCompressSync(data);
  }
}

/**
 * Serve `decodedBytes` of zeros encoded on the fly, back-pressured by the client. Returns how
 * many decoded bytes the server had produced when the response closed.
 */
export function serveBomb(res: http.ServerResponse, coding: Coding, decodedBytes: number, contentType = 'text/html'): Promise<number> {
  const source = zeros(decodedBytes);
  const header = coding === 'deflate-raw' ? 'deflate' : coding;
  res.writeHead(200, { 'content-type': contentType, 'content-encoding': header });
  return new Promise((resolve) => {
    pipeline(source.stream, encoder(coding), res, () => resolve(source.produced()));
  });
}

/** An HTML page of about `bytes` bytes of synthetic filler, with the given markup up front. */
export function fillerPage(markup: string, bytes = 0): Buffer {
  const head = `<!doctype html><html><head><title>synthetic</title></head><body>${markup}`;
  const filler = '<p>lorem ipsum synthetic filler</p>'.repeat(Math.max(0, Math.ceil((bytes - head.length) / 35)));
  return Buffer.from(`${head}${filler}</body></html>`);
}

/** Random bytes standing in for an image: synthetic, never real content. */
export function syntheticImage(bytes: number): Buffer {
  return randomBytes(bytes);
}
