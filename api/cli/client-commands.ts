/**
 * The client subcommands of `vigil` (CONTRACT.md §2): each is a call to the HTTP API.
 * Output goes to the given writer (stdout); progress to stderr.
 */
import { createReadStream, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import { ApiClient, CliError, type ClientSettings } from './api-client.js';

export interface Output {
  out: (line: string) => void;
  progress: (text: string) => void;
}

function contentTypeFor(file: string): string {
  return /\.csv$/i.test(file) ? 'text/csv' : 'text/plain';
}

export async function submitCommand(settings: ClientSettings, file: string, options: { reference?: string; force?: string }, io: Output): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new CliError(`Cannot read ${file}: no such file.`);
  }
  let sent = 0;
  let lastShown = -1;
  const counter = new Transform({
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
  const query = new URLSearchParams();
  if (options.force) query.set('force', options.force);
  if (options.reference) query.set('reference', options.reference);
  const client = new ApiClient(settings);
  const path = `/v1/submissions${query.size ? `?${query}` : ''}`;
  const stream = createReadStream(file).pipe(counter);
  const { body } = await client.call<{ id: string | null; accepted: number; duplicates: number; rejected: { line: number; input: string; error: string }[] }>(
    'POST', path, { raw: stream, contentType: contentTypeFor(file), length: size },
  );
  io.progress('\n');
  io.out(`submission ${body.id ?? '(none: nothing accepted)'}: ${body.accepted} accepted, ${body.duplicates} already monitored, ${body.rejected.length} rejected`);
  for (const r of body.rejected.slice(0, 20)) io.out(`  line ${r.line}: ${r.error}: ${r.input}`);
  if (body.rejected.length > 20) io.out(`  … and ${body.rejected.length - 20} more rejected lines`);
  if (body.accepted + body.duplicates === 0) throw new CliError('Nothing in the file was accepted; fix the lines above and submit again.');
}

export async function statusCommand(settings: ClientSettings, submission: string | undefined, io: Output): Promise<void> {
  const client = new ApiClient(settings);
  if (!submission) {
    const { body } = await client.call<{ status: string; checks: Record<string, { ok: boolean; detail?: string }> }>('GET', '/readyz');
    io.out(`vigil: ${body.status}`);
    for (const [name, c] of Object.entries(body.checks)) io.out(`  ${name}: ${c.ok ? 'ok' : 'NOT OK'}${c.detail ? ` (${c.detail})` : ''}`);
    return;
  }
  const { body } = await client.call<{ id: string; force: string; reference: string | null; createdAt: string; completedAt: string | null; counts: Record<string, number>; items: unknown[] }>('GET', `/v1/submissions/${encodeURIComponent(submission)}`);
  io.out(`submission ${body.id} (force ${body.force}${body.reference ? `, reference ${body.reference}` : ''})`);
  io.out(`  created ${body.createdAt}; ${body.completedAt ? `completed ${body.completedAt}` : 'not complete yet'}`);
  io.out(`  ${body.items.length} items: ${Object.entries(body.counts).map(([s, n]) => `${n} ${s}`).join(', ')}`);
}

export async function reportCommand(settings: ClientSettings, id: string, io: Output): Promise<void> {
  const { body } = await new ApiClient(settings).call<unknown>('GET', `/v1/reports/${encodeURIComponent(id)}`);
  io.out(JSON.stringify(body, null, 2));
}

export async function forcesAddCommand(settings: ClientSettings, id: string, name: string, io: Output): Promise<void> {
  const { body } = await new ApiClient(settings).call<{ id: string; name: string }>('POST', '/v1/forces', { json: { id, name } });
  io.out(`force ${body.id} created: ${body.name}`);
}

export async function keysCreateCommand(settings: ClientSettings, options: { role: string; force?: string; recipient?: string; label?: string }, io: Output): Promise<void> {
  const { body } = await new ApiClient(settings).call<{ id: string; token: string }>('POST', '/v1/keys', { json: options });
  io.out(`key ${body.id} (${options.role}${options.force ? `, force ${options.force}` : ''}${options.recipient ? `, recipient ${options.recipient}` : ''})`);
  io.out(`token: ${body.token}`);
  io.out('The token is shown once; store it now.');
}
