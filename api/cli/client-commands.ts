/**
 * The client subcommands of `vigil` (CONTRACT.md §2): each is a call to the HTTP API.
 * Output goes to the given writer (stdout); progress to stderr.
 */
import { ApiClient, CliError, type ClientSettings } from './api-client.js';

export { submitCommand } from './submit-command.js';

export interface Output {
  out: (line: string) => void;
  progress: (text: string) => void;
}

interface Hosting {
  ip: string | null;
  country: string | null;
  asn: number | null;
  org: string | null;
}

const hostingText = (h: Hosting | null): string =>
  h ? [h.country ?? '??', h.asn !== null ? `AS${h.asn}` : null, h.org, h.ip].filter(Boolean).join(' ') : 'not traced yet';

export async function statusCommand(settings: ClientSettings, submission: string | undefined, io: Output): Promise<void> {
  const client = new ApiClient(settings);
  if (!submission) {
    // /readyz is public: no key needed; 503 is an answer too (which part is down), exit 1 after it
    const { status, body } = await client.call<{ status: string; checks: Record<string, { ok: boolean; detail?: string }> }>('GET', '/readyz', { anonymous: true, accept: [503] });
    io.out(`vigil: ${body.status}`);
    for (const [name, c] of Object.entries(body.checks ?? {})) io.out(`  ${name}: ${c.ok ? 'ok' : 'NOT OK'}${c.detail ? ` (${c.detail})` : ''}`);
    if (status !== 200) throw new CliError('vigil is not ready: see the parts marked NOT OK above.', 1, true);
    return;
  }
  const { body } = await client.call<{
    id: string; force: string; reference: string | null; createdAt: string; completedAt: string | null;
    counts: Record<string, number>; itemCount: number; rejectedCount: number;
  }>('GET', `/v1/submissions/${encodeURIComponent(submission)}?limit=1`);
  io.out(`submission ${body.id} (force ${body.force}${body.reference ? `, reference ${body.reference}` : ''})`);
  io.out(`  created ${body.createdAt}; ${body.completedAt ? `completed ${body.completedAt}` : 'not complete yet'}`);
  const counts = Object.entries(body.counts).sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${n} ${s}`).join(', ');
  io.out(`  ${body.itemCount} items: ${counts || 'none'}${body.rejectedCount ? `; ${body.rejectedCount} lines rejected at intake` : ''}`);
  io.out(`  per item: ${new URL(`/v1/submissions/${body.id}/report.csv`, settings.url).href}`);
}

interface ReportBody {
  id: string; url: string; status: string; verdict: string | null; verdictSource: string | null; hosting: Hosting | null;
  createdAt: string; firstSeenLiveAt: string | null; removedAt: string | null;
  checks: { startedAt: string; outcome: string; reason: string }[];
  traces?: { createdAt: string; country: string | null; asn: number | null; org: string | null; ip: string | null }[];
  notices: { createdAt: string; kind: string; recipient: string; status: string }[];
}

export async function reportCommand(settings: ClientSettings, id: string, options: { json?: boolean }, io: Output): Promise<void> {
  const { body } = await new ApiClient(settings).call<ReportBody>('GET', `/v1/reports/${encodeURIComponent(id)}`);
  if (options.json) {
    io.out(JSON.stringify(body, null, 2));
    return;
  }
  io.out(`report ${body.id}: ${body.status}`);
  io.out(`  url: ${body.url}`);
  io.out(`  verdict: ${body.verdict ? `${body.verdict} (${body.verdictSource})` : 'none yet'}`);
  io.out(`  hosting: ${hostingText(body.hosting)}`);
  io.out(`  reported ${body.createdAt}; first seen live ${body.firstSeenLiveAt ?? 'never'}; removed ${body.removedAt ?? '-'}`);
  io.out(`  checks (${body.checks.length}, newest first):`);
  for (const c of body.checks.slice(0, 10)) io.out(`    ${c.startedAt} ${c.outcome} (${c.reason})`);
  for (const t of (body.traces ?? []).slice(0, 5)) io.out(`  traced ${t.createdAt}: ${hostingText({ ...t })}`);
  io.out(`  notices (${body.notices.length}):`);
  for (const n of body.notices) io.out(`    ${n.createdAt} ${n.kind} to ${n.recipient}: ${n.status}`);
}

export async function forcesAddCommand(settings: ClientSettings, id: string, name: string, io: Output): Promise<void> {
  const { body } = await new ApiClient(settings).call<{ id: string; name: string }>('POST', '/v1/forces', { json: { id, name } });
  io.out(`force ${body.id} created: ${body.name}`);
}

export async function keysCreateCommand(
  settings: ClientSettings, options: { role: string; force?: string; recipient?: string; label?: string; expiresAt?: string }, io: Output,
): Promise<void> {
  const { body } = await new ApiClient(settings).call<{ id: string; token: string; expiresAt: string | null }>('POST', '/v1/keys', { json: options });
  io.out(`key ${body.id} (${options.role}${options.force ? `, force ${options.force}` : ''}${options.recipient ? `, recipient ${options.recipient}` : ''})`);
  io.out(`token: ${body.token}`);
  io.out(`The token is shown once; store it now.${body.expiresAt ? ` It expires at ${body.expiresAt}.` : ''}`);
}
