/**
 * `vigil submit` sends a file as text/csv when it is one — by its `.csv` name, or by a first line
 * that is a CSV header naming `url` — and as text/plain otherwise, so a CSV saved as `.txt` is not
 * read as a URL list (its header rejected, `https://x/a,<digest>` monitored as a URL).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { contentTypeFor, isCsvHeader } from '../../api/cli/submit-command.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-submit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('vigil submit: the content type of a file', () => {
  test('a first line that is a CSV header naming url', () => {
    for (const line of ['url', 'url,sha256', 'URL, verdict', '\uFEFFurl,md5', '"url","sha1"', 'sha256,url']) expect(isCsvHeader(line), line).toBe(true);
    for (const line of ['', 'https://host.test/a.jpg', 'https://host.test/a?x=1,url', 'link,sha256', 'urls', 'url;sha256']) expect(isCsvHeader(line), line).toBe(false);
  });

  test('by name, else by the first line', () => {
    expect(contentTypeFor(file('list.CSV', 'https://host.test/a.jpg\n'))).toBe('text/csv');
    expect(contentTypeFor(file('list.txt', 'url,sha256\r\nhttps://host.test/a.jpg,' + 'ab'.repeat(32) + '\r\n'))).toBe('text/csv');
    expect(contentTypeFor(file('urls.txt', 'https://host.test/a.jpg\nhttps://host.test/b.jpg\n'))).toBe('text/plain');
    expect(contentTypeFor(file('empty', ''))).toBe('text/plain');
  });
});
