/**
 * CSV records from numbered lines (RFC 4180: comma-separated, `"`-quoted fields, `""` for a
 * quote, line breaks allowed inside quotes), each malformed record rejected on its own.
 *
 * Why not one csv-parse stream over the whole body: after a malformed quote its error recovery
 * (`skip_records_with_error`) stays inside the broken quote and swallows the following good
 * rows. Here record boundaries are found first — a line ends a record unless a quoted field is
 * still open — and each record is then parsed alone: a line without quotes is split on commas,
 * a quoted one goes through csv-parse. A quote left open for {@link MAX_RECORD_LINES} lines, or
 * at the end of the body, rejects its first line only; the lines after it are read again.
 */
import { parse } from 'csv-parse/sync';
import type { BodyLine } from './body-lines.js';

export type CsvRecord =
  | { line: number; fields: string[]; text: string }
  | { line: number; error: string; text: string };

/** lines a quoted field may span before the quote is taken for a stray one */
export const MAX_RECORD_LINES = 20;

/** True when `text` ends inside a quoted field. */
function endsInsideQuotes(text: string): boolean {
  // 0: at the start of a field, 1: in an unquoted field, 2: in a quoted field, 3: just after a quote inside one
  let state = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (state === 0) {
      if (c === 0x22) state = 2;
      else if (c !== 0x2c && c !== 0x20 && c !== 0x09) state = 1;
    } else if (state === 1) {
      if (c === 0x2c) state = 0;
    } else if (state === 2) {
      if (c === 0x22) state = 3;
    } else if (c === 0x22) {
      state = 2;
    } else {
      state = c === 0x2c ? 0 : 1;
    }
  }
  return state === 2;
}

const CSV_ERRORS: Record<string, string> = {
  CSV_INVALID_CLOSING_QUOTE: 'malformed CSV: a quoted field must end at a comma or the end of the line',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'malformed CSV: a quoted field must end at a comma or the end of the line',
  CSV_QUOTE_NOT_CLOSED: 'malformed CSV: a quoted field is not closed',
};

function parseRecord(line: number, text: string): CsvRecord {
  if (!text.includes('"')) return { line, text, fields: text.split(',').map((f) => f.trim()) };
  try {
    const records = parse(text, { relax_column_count: true, relax_quotes: true, trim: true, record_delimiter: '\n' }) as string[][];
    return { line, text, fields: records[0] ?? [] };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    return { line, text, error: CSV_ERRORS[code] ?? `malformed CSV: ${(err as Error).message.replace(/ at line \d+.*$/, '')}` };
  }
}

const isBlank = (text: string): boolean => text.trim() === '' || /^[\s,]*$/.test(text);

/** Splits numbered lines into records; push lines in order, then call {@link end}. */
export class CsvRecordSplitter {
  #open: BodyLine[] = [];

  push(line: BodyLine): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.#consume(line, out);
    return out;
  }

  /** The body ended: an open quote rejects its first line; the lines after it are read again. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    while (this.#open.length > 0) this.#recover(out);
    return out;
  }

  #consume(line: BodyLine, out: CsvRecord[]): void {
    if (this.#open.length === 0) {
      if (!line.text.includes('"') || !endsInsideQuotes(line.text)) {
        if (!isBlank(line.text)) out.push(this.#record([line], line.text));
        return;
      }
      this.#open = [line];
      return;
    }
    this.#open.push(line);
    const text = this.#open.map((l) => l.text).join('\n');
    if (!endsInsideQuotes(text)) {
      out.push(this.#record(this.#open, text));
      this.#open = [];
    } else if (this.#open.length >= MAX_RECORD_LINES) {
      this.#recover(out);
    }
  }

  #record(lines: BodyLine[], text: string): CsvRecord {
    const first = (lines[0] as BodyLine).line;
    if (lines.some((l) => !l.utf8)) return { line: first, text, error: 'not valid UTF-8' };
    return parseRecord(first, text);
  }

  #recover(out: CsvRecord[]): void {
    const [first, ...rest] = this.#open;
    this.#open = [];
    if (!first) return;
    out.push({ line: first.line, text: first.text, error: CSV_ERRORS.CSV_QUOTE_NOT_CLOSED as string });
    for (const line of rest) this.#consume(line, out);
  }
}

/** The records of a stream of lines. */
export async function* csvRecords(lines: AsyncIterable<BodyLine>): AsyncGenerator<CsvRecord> {
  const splitter = new CsvRecordSplitter();
  for await (const line of lines) yield* splitter.push(line);
  yield* splitter.end();
}
