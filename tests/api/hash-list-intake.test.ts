/**
 * A URL submitted with a digest that is in the hash list (`hashList.files`, loaded from a file by
 * the real HashList) starts monitored with the verdict `illegal` from `hash_list`, under either
 * media policy (CONTRACT.md §4: "a verdict comes from … a hash-list match"); the list stands over
 * the submission's own verdict; the submission item keeps what was submitted. Digests are random.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashList } from '../../crawler/hash-list.js';
import { startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

const LISTED_SHA256 = randomBytes(32).toString('hex');
const LISTED_MD5 = randomBytes(16).toString('hex');

describe('POST /v1/submissions with a hash list', () => {
  let h: ApiHarness;
  let list: HashList;
  let dir: string;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-hashlist-'));
    const file = path.join(dir, 'known.txt');
    writeFileSync(file, `# known illegal content\n${LISTED_SHA256}\n${LISTED_MD5}\n`);
    list = await HashList.open({ files: [file] });
    h = await startApiHarness({ hashList: list });
    const force = await h.newForce();
    token = (await h.newKey('force', { force })).token;
  });
  afterAll(async () => {
    await h?.close();
    await list?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reportOf = async (url: string) => (await h.store.sql.query<{ verdict: string | null; verdict_source: string | null }>(
    'SELECT verdict, verdict_source FROM reports WHERE url = $1', [url])).rows[0];

  it('a listed digest makes a new report illegal from hash_list, over the submission\'s own verdict', async () => {
    const [listed, listedMd5, unlisted, bare] = testUrls(4) as [string, string, string, string];
    const res = await h.call(token, 'POST', '/v1/submissions', { json: { items: [
      { url: listed, sha256: LISTED_SHA256 },
      { url: listedMd5, md5: LISTED_MD5.toUpperCase(), verdict: 'not_illegal' },
      { url: unlisted, sha256: randomBytes(32).toString('hex'), verdict: 'illegal' },
      { url: bare },
    ] } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 4, rejected: [] });
    expect(await reportOf(listed)).toEqual({ verdict: 'illegal', verdict_source: 'hash_list' });
    expect(await reportOf(listedMd5)).toEqual({ verdict: 'illegal', verdict_source: 'hash_list' });
    expect(await reportOf(unlisted)).toEqual({ verdict: 'illegal', verdict_source: 'submission' });
    expect(await reportOf(bare)).toEqual({ verdict: null, verdict_source: null });
    // the item records what the force submitted
    const { rows } = await h.store.sql.query<{ verdict: string | null }>(
      'SELECT si.verdict FROM submission_items si JOIN reports r ON r.id = si.report_id WHERE r.url = $1', [listedMd5]);
    expect(rows).toEqual([{ verdict: 'not_illegal' }]);
  });

  it('a URL already monitored keeps the verdict it has', async () => {
    const [url] = testUrls(1) as [string];
    expect((await h.call(token, 'POST', '/v1/submissions', { json: { items: [{ url }] } })).statusCode).toBe(202);
    expect((await h.call(token, 'POST', '/v1/submissions', { json: { items: [{ url, sha256: LISTED_SHA256 }] } })).json()).toMatchObject({ duplicates: 1 });
    expect(await reportOf(url)).toEqual({ verdict: null, verdict_source: null });
  });
});
