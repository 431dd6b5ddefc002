/**
 * The CSV report of a submission: one row per submitted item (CONTRACT.md §4), RFC 4180 with
 * CRLF line ends. Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
 * first) are prefixed with `'`: hosting organisation names come from the network, and a
 * spreadsheet is where these reports are read.
 */
import type { SubmissionPageItem } from '../../core/store.js';

export const SUBMISSION_CSV_HEADER = [
  'line', 'url', 'input', 'report_id', 'status', 'hosting_country', 'hosting_asn', 'hosting_org', 'hosting_ip', 'via_cdn',
  'first_seen_live_at', 'last_seen_live_at', 'notices', 'removed_at',
] as const;

type Cell = string | number | boolean | Date | null;

function cell(value: Cell): string {
  if (value === null) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly Cell[]): string {
  return `${cells.map(cell).join(',')}\r\n`;
}

export function submissionCsvRow(i: SubmissionPageItem): Cell[] {
  return [
    i.line, i.url, i.input, i.reportId, i.status,
    i.hosting?.country ?? null, i.hosting?.asn ?? null, i.hosting?.org ?? null, i.hosting?.ip ?? null, i.hosting ? i.hosting.viaCdn : null,
    i.firstSeenLiveAt, i.lastSeenLiveAt, i.notices, i.removedAt,
  ];
}
