/**
 * Report statuses and check outcomes of CONTRACT.md §4. These names are part of the outside
 * contract (API, CSV, webhooks, metrics): change them only with an alias.
 */
export const REPORT_STATUSES = [
  'pending',
  'live',
  'notified',
  'removed',
  'unreachable',
  'rejected',
  'refused',
  'expired',
] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

export const CHECK_OUTCOMES = ['live', 'gone', 'inconclusive', 'refused'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

export const VERDICTS = ['illegal', 'not_illegal'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Where a verdict came from. */
export type VerdictSource = 'submission' | 'analyst' | 'hash_list';

export function isReportStatus(value: string): value is ReportStatus {
  return (REPORT_STATUSES as readonly string[]).includes(value);
}
