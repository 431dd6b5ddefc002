/**
 * Reads a submission body into raw items and a fingerprint of the request, in one pass:
 * `text/csv` and `text/plain` as a stream (never held whole; 413 as soon as a limit is passed),
 * `application/json` as parsed by fastify.
 */
import { createHash } from 'node:crypto';
import { VigilError } from '../../core/errors.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { bodyLines, meteredChunks } from './body-lines.js';
import { csvRecords, type CsvRecord } from './csv-records.js';
import { jsonSubmissionSchema, rawItemFromJson, rawItemFromTextLine, tooManyItems, type RawItem } from './submission-items.js';

export type BodyKind = 'csv' | 'text' | 'json';

export interface SubmissionLimits {
  /** @default 100000 */
  maxItems: number;
  /** @default 50 MB */
  maxBodyBytes: number;
}

export interface ReadSubmission {
  reference: string | null;
  raw: RawItem[];
  /** sha256 hex of the body (CSV, text) or of its canonical JSON */
  bodyHash: string;
}

/** CSV columns vigil reads; others are ignored */
export const CSV_COLUMNS = ['url', 'sha256', 'sha1', 'md5', 'verdict'] as const;

function csvHeader(record: CsvRecord): Map<string, number> {
  if ('error' in record) throw new VigilError('VALIDATION_FAILED', `CSV header row (line ${record.line}): ${record.error}`);
  const columns = new Map<string, number>();
  record.fields.forEach((name, index) => {
    const key = name.trim().toLowerCase();
    if (key === '') return;
    if (columns.has(key)) throw new VigilError('VALIDATION_FAILED', `CSV header row (line ${record.line}) names the column "${key}" twice`);
    columns.set(key, index);
  });
  if (!columns.has('url')) {
    throw new VigilError('VALIDATION_FAILED',
      `the first row of a CSV submission must be a header naming a "url" column (and optionally ${CSV_COLUMNS.slice(1).join(', ')}); ` +
      `line ${record.line} names: ${[...columns.keys()].join(', ') || '(nothing)'}. For a plain list of URLs, send text/plain.`);
  }
  return columns;
}

function csvItem(record: CsvRecord, columns: Map<string, number>): RawItem {
  if ('error' in record) return { line: record.line, input: record.text, error: record.error };
  if (record.fields.length > columns.size && record.fields.slice(columns.size).some((f) => f !== '')) {
    // extra columns beyond the header: a missing quote or comma somewhere in this row
    return { line: record.line, input: record.text, error: `${record.fields.length} fields, but the header row names ${columns.size}` };
  }
  const fields: Record<string, unknown> = {};
  for (const name of CSV_COLUMNS) {
    const index = columns.get(name);
    const value = index === undefined ? '' : record.fields[index] ?? '';
    if (value !== '') fields[name] = value;
  }
  if (fields.url === undefined) return { line: record.line, input: record.text, error: 'the url column is empty' };
  return { line: record.line, input: String(fields.url), fields };
}

/**
 * Reads a `text/csv` or `text/plain` body from its stream.
 * @throws VigilError PAYLOAD_TOO_LARGE (bytes or items), VALIDATION_FAILED (CSV header)
 */
export async function readStreamedSubmission(
  body: AsyncIterable<Buffer | string>, kind: 'csv' | 'text', limits: SubmissionLimits, fingerprint: string,
): Promise<ReadSubmission> {
  const hash = createHash('sha256').update(fingerprint);
  const lines = bodyLines(meteredChunks(body, limits.maxBodyBytes, hash));
  const raw: RawItem[] = [];
  const add = (item: RawItem) => {
    if (raw.length >= limits.maxItems) throw tooManyItems(`More than ${limits.maxItems}`, limits.maxItems);
    raw.push(item);
  };
  if (kind === 'text') {
    for await (const l of lines) {
      const item = rawItemFromTextLine(l.line, l.text, l.utf8);
      if (item) add(item);
    }
  } else {
    let columns: Map<string, number> | null = null;
    for await (const record of csvRecords(lines)) {
      if (columns === null) columns = csvHeader(record);
      else add(csvItem(record, columns));
    }
    if (columns === null) throw new VigilError('VALIDATION_FAILED', 'the CSV body is empty: expected a header row naming a "url" column, then one row per URL');
  }
  return { reference: null, raw, bodyHash: hash.digest('hex') };
}

/**
 * Reads an `application/json` body already parsed by fastify.
 * @throws VigilError VALIDATION_FAILED (not the expected envelope), PAYLOAD_TOO_LARGE (items)
 */
export function readJsonSubmission(body: unknown, limits: SubmissionLimits, fingerprint: string): ReadSubmission {
  const envelope = jsonSubmissionSchema.safeParse(body);
  if (!envelope.success) {
    const detail = envelope.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
    throw new VigilError('VALIDATION_FAILED', `expected {reference?, items: [...]}: ${detail}`);
  }
  const { reference, items } = envelope.data;
  if (items.length > limits.maxItems) throw tooManyItems(items.length, limits.maxItems);
  return {
    reference: reference ?? null,
    raw: items.map(rawItemFromJson),
    bodyHash: createHash('sha256').update(fingerprint).update(canonicalJson(body)).digest('hex'),
  };
}
