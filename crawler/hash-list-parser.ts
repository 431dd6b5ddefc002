/**
 * Reads hash-list files (`hashList.files`): one hex digest a line — md5 (32), sha1 (40) or
 * sha256 (64 hex digits), any case. Blank lines and lines starting with `#` are skipped; text
 * after the digest and whitespace is ignored, so `sha256sum` output is accepted as it is. Any
 * other line is counted as bad and described (up to a bound), never fatal.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { algorithmOfDigest } from '../core/content-digests.js';
import type { HashAlgorithm } from '../core/fetcher.js';

/** One bad line: where, and why (never the line's text). */
export interface HashListLineError {
  file: string;
  /** 1-based */
  line: number;
  reason: 'not_hex' | 'bad_length';
}

/** A complete list, built before it is swapped in. */
export interface ParsedHashList {
  /** lower-case digests per algorithm */
  sets: ReadonlyMap<HashAlgorithm, ReadonlySet<string>>;
  /** distinct digests, all algorithms */
  size: number;
  /** bad lines, all files */
  badLines: number;
  /** the first `maxErrors` bad lines */
  errors: HashListLineError[];
}

/** Parse one line; null for blank and comment lines. */
export function parseHashLine(line: string): { digest: string; algorithm: HashAlgorithm } | { error: HashListLineError['reason'] } | null {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  const token = text.split(/\s/, 1)[0] ?? '';
  const algorithm = algorithmOfDigest(token);
  if (algorithm !== null) return { digest: token.toLowerCase(), algorithm };
  return { error: /^[0-9a-fA-F]+$/.test(token) ? 'bad_length' : 'not_hex' };
}

/**
 * Read and parse every file, streaming line by line (lists can hold millions of digests).
 * @throws the file system's error when a file cannot be read (nothing is half-applied: the
 *   caller keeps its previous list)
 */
export async function parseHashListFiles(files: readonly string[], maxErrors = 100): Promise<ParsedHashList> {
  const sets = new Map<HashAlgorithm, Set<string>>([
    ['sha256', new Set()],
    ['sha1', new Set()],
    ['md5', new Set()],
  ]);
  const errors: HashListLineError[] = [];
  let badLines = 0;
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let number = 0;
    for await (const line of lines) {
      number++;
      const parsed = parseHashLine(line); // trim() also drops a byte-order mark
      if (parsed === null) continue;
      if ('error' in parsed) {
        badLines++;
        if (errors.length < maxErrors) errors.push({ file, line: number, reason: parsed.error });
        continue;
      }
      sets.get(parsed.algorithm)?.add(parsed.digest);
    }
  }
  let size = 0;
  for (const set of sets.values()) size += set.size;
  return { sets, size, badLines, errors };
}
