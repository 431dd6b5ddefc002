/**
 * `vigil submit FILE`: uploads a URL list (a `.csv` file, or one whose first line is a CSV header
 * naming `url`, as text/csv; anything else as text/plain) with a progress bar on stderr. Each run carries an Idempotency-Key, so when the
 * upload fails on the way (network, 502/503/504, 429) it is sent again — up to three times —
 * without risk of submitting the list twice.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, CliError, type ClientSettings } from './api-client.js';
import type { Output } from './client-commands.js';

const ATTEMPTS = 3;

/** Bytes of a file read to find its first line. */
const HEAD_BYTES = 4096;

/**
 * Whether a first line is a CSV header naming a `url` column (`url,sha256`, `"URL";…` is not:
 * CSV here is comma-separated). A URL list's first line is a URL, which has `://`.
 */
export function isCsvHeader(line: string): boolean {
  const text = line.replace(/^\uFEFF/, '').trim();
  if (text === '' || text.includes('://')) return false;
  return text.split(',').some((field) => field.trim().replace(/^"(.*)"$/, '$1').trim().toLowerCase() === 'url');
}

/** text/csv for a `.csv` file or one whose first line is a CSV header with `url`; else text/plain. */
export function contentTypeFor(file: string): string {
  if (/\.csv$/i.test(file)) return 'text/csv';
  const head = Buffer.alloc(HEAD_BYTES);
  let read = 0;
  const fd = openSync(file, 'r');
  try {
    read = readSync(fd, head, 0, HEAD_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const firstLine = head.subarray(0, read).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
  return isCsvHeader(firstLine) ? 'text/csv' : 'text/plain';
}

function progressCounter(size: number, io: Output): Transform {
  let sent = 0;
  let lastShown = -1;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      const pct = size === 0 ? 100 : Math.floor((sent / size) * 100);
      if (pct !== lastShown) {
        lastShown = pct;
        const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
        io.progress(`\ruploading [${bar}] ${pct}% (${sent}/${size} bytes)`);
      }
      done(null, chunk);
    },
  });
}

interface Receipt {
  id: string | null;
  accepted: number;
  duplicates: number;
  rejected: { line: number; input: string; error: string }[];
}

export async function submitCommand(
  settings: ClientSettings, file: string, options: { reference?: string; force?: string; idempotencyKey?: string }, io: Output,
): Promise<void> {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch {
    throw new CliError(`Cannot read ${file}: no such file.`);
  }
  const query = new URLSearchParams();
  if (options.force) query.set('force', options.force);
  if (options.reference) query.set('reference', options.reference);
  const path = `/v1/submissions${query.size ? `?${query}` : ''}`;
  const key = options.idempotencyKey ?? randomUUID();
  const client = new ApiClient(settings);
  let body: Receipt | undefined;
  for (let attempt = 1; body === undefined; attempt++) {
    try {
      const stream = createReadStream(file).pipe(progressCounter(size, io));
      const response = await client.call<Receipt>('POST', path, { raw: stream, contentType: contentTypeFor(file), length: size, headers: { 'idempotency-key': key } });
      body = response.body;
    } catch (err) {
      io.progress('\n');
      if (!(err instanceof CliError) || !err.transient || attempt >= ATTEMPTS) throw err;
      io.progress(`upload failed (${err.message}); retrying (${attempt + 1}/${ATTEMPTS}) with the same Idempotency-Key\n`);
      await sleep(500 * attempt);
    }
  }
  io.progress('\n');
  io.out(`submission ${body.id ?? '(none: nothing accepted)'}: ${body.accepted} accepted, ${body.duplicates} already monitored, ${body.rejected.length} rejected`);
  for (const r of body.rejected.slice(0, 20)) io.out(`  line ${r.line}: ${r.error}: ${r.input.slice(0, 200)}`);
  if (body.rejected.length > 20) io.out(`  … and ${body.rejected.length - 20} more rejected lines`);
  if (body.accepted + body.duplicates === 0) throw new CliError('Nothing in the file was accepted; fix the lines above and submit again.');
  if (body.id) io.out(`follow it with: vigil status ${body.id}`);
}
