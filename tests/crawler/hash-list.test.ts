/**
 * The hash list with temporary files: parsing, bad lines, reload on change (waiting for the
 * `reload` event, never a sleep), the old list kept while and when a reload fails.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, open as openFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HashList, type HashListReload } from '../../crawler/hash-list.js';
import { parseHashLine } from '../../crawler/hash-list-parser.js';

const hex = (algorithm: string, seed: string): string => createHash(algorithm).update(seed).digest('hex');
const MD5 = hex('md5', 'one');
const SHA1 = hex('sha1', 'two');
const SHA256 = hex('sha256', 'three');
const LATER = hex('sha256', 'four');

let dir: string;
const lists: HashList[] = [];

async function open(files: string[], debounceMs = 30): Promise<HashList> {
  const list = await HashList.open({ files, debounceMs, pollIntervalMs: 0 });
  lists.push(list);
  return list;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-hashlist-'));
});
afterEach(async () => {
  await Promise.all(lists.splice(0).map((l) => l.close()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseHashLine', () => {
  test.each([
    ['', null],
    ['   ', null],
    ['# a comment', null],
    [MD5, { digest: MD5, algorithm: 'md5' }],
    [`  ${SHA1.toUpperCase()}  `, { digest: SHA1, algorithm: 'sha1' }],
    [`${SHA256}  some/file.jpg`, { digest: SHA256, algorithm: 'sha256' }],
    ['abc', { error: 'bad_length' }],
    [`${MD5}0`, { error: 'bad_length' }],
    ['not a digest', { error: 'not_hex' }],
    [`${MD5.slice(0, 31)}g`, { error: 'not_hex' }],
  ] as const)('%j → %j', (line, parsed) => {
    expect(parseHashLine(line)).toEqual(parsed);
  });
});

describe('HashList', () => {
  test('loads md5, sha1 and sha256 from several files; bad lines counted and described, not fatal', async () => {
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'b.txt');
    await writeFile(a, `\uFEFF# known content\n${MD5}\n\nnot-a-digest\r\n${SHA1.toUpperCase()}\r\n`);
    await writeFile(b, `${SHA256}  file.bin\n${MD5}\n12345\n`);
    const list = await open([a, b]);
    expect(list.size).toBe(3);
    expect([list.sizeOf('md5'), list.sizeOf('sha1'), list.sizeOf('sha256')]).toEqual([1, 1, 1]);
    expect(list.has(MD5)).toBe(true);
    expect(list.has(SHA1)).toBe(true);
    expect(list.has(SHA256.toUpperCase())).toBe(true);
    expect(list.has(LATER)).toBe(false);
    expect(list.has('nonsense')).toBe(false);
    expect(list.badLines).toBe(2);
    expect(list.errors).toEqual([
      { file: a, line: 4, reason: 'not_hex' },
      { file: b, line: 3, reason: 'bad_length' },
    ]);
    expect(list.loadedAt).toBeInstanceOf(Date);
  });

  test('a file that cannot be read at start is an error', async () => {
    await expect(HashList.open({ files: [path.join(dir, 'missing.txt')], pollIntervalMs: 0 })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('reloads when the file is rewritten in place', async () => {
    const file = path.join(dir, 'inplace.txt');
    await writeFile(file, `${MD5}\n`);
    const list = await open([file]);
    const reloaded = once(list, 'reload') as Promise<[HashListReload]>;
    await writeFile(file, `${LATER}\n${SHA1}\nbad\n`);
    // until the new list is parsed completely, the old one answers
    expect(list.has(MD5)).toBe(true);
    const [event] = await reloaded;
    expect(event).toMatchObject({ size: 2, badLines: 1 });
    expect(list.has(LATER)).toBe(true);
    expect(list.has(MD5)).toBe(false);
    expect(list.badLines).toBe(1);
  });

  test('reloads when the file is replaced by rename (how editors and deploy tools write)', async () => {
    const file = path.join(dir, 'renamed.txt');
    await writeFile(file, `${MD5}\n`);
    const list = await open([file]);
    const reloaded = once(list, 'reload');
    const temp = path.join(dir, 'renamed.txt.tmp');
    await writeFile(temp, `${LATER}\n`);
    await rename(temp, file);
    await reloaded;
    expect(list.has(LATER)).toBe(true);
    expect(list.has(MD5)).toBe(false);
    // and again: the watch is on the directory, so the new file is watched as well
    const again = once(list, 'reload');
    await writeFile(temp, `${SHA1}\n`);
    await rename(temp, file);
    await again;
    expect(list.has(SHA1)).toBe(true);
    expect(list.has(LATER)).toBe(false);
  });

  test('while a new list is being read, the old one answers; the new one replaces it whole', async () => {
    const file = path.join(dir, 'slow.txt');
    await writeFile(file, `${MD5}\n`);
    const list = await open([file]);
    // The new file is a FIFO: the reload reads it as fast as the test writes, so the test can
    // look at the list in the middle of a reload.
    const fifo = path.join(dir, 'slow.fifo');
    execFileSync('mkfifo', [fifo]);
    const reloaded = once(list, 'reload');
    await rename(fifo, file);
    const writer = await openFile(file, 'w'); // opens once the reload has started reading
    await writer.write(`${LATER}\n${SHA1}\n`);
    expect(list.has(MD5)).toBe(true);
    expect(list.has(LATER)).toBe(false);
    await writer.close();
    await reloaded;
    expect(list.has(MD5)).toBe(false);
    expect(list.has(LATER)).toBe(true);
    expect(list.size).toBe(2);
  });

  test('reload() is the polling fallback: re-reads only what changed', async () => {
    const file = path.join(dir, 'polled.txt');
    await writeFile(file, `${MD5}\n`);
    const list = await open([file], 60_000); // file events would wait a minute
    expect(await list.reload()).toBe(false);
    await writeFile(file, `${MD5}\n${LATER}\n`);
    expect(await list.reload()).toBe(true);
    expect(list.has(LATER)).toBe(true);
    expect(await list.reload()).toBe(false);
  });

  test('a reload that fails keeps the old list and reports why', async () => {
    const file = path.join(dir, 'vanishing.txt');
    await writeFile(file, `${MD5}\n`);
    const list = await open([file], 60_000);
    const failed = once(list, 'reloadError') as Promise<[NodeJS.ErrnoException]>;
    await rm(file);
    expect(await list.reload()).toBe(false);
    expect((await failed)[0].code).toBe('ENOENT');
    expect(list.has(MD5)).toBe(true);
    expect(list.size).toBe(1);
  });

  test('after close, reload does nothing', async () => {
    const file = path.join(dir, 'closed.txt');
    await writeFile(file, `${MD5}\n`);
    const list = await open([file]);
    await list.close();
    await writeFile(file, `${LATER}\n`);
    expect(await list.reload()).toBe(false);
    expect(list.has(MD5)).toBe(true);
  });
});
