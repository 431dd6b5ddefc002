/**
 * The crawler's tokenizer (crawler/fast-tokenizer.ts) against htmlparser2's own: the same events,
 * with the same positions, on generated markup fed in chunks of every size — and it is the fast
 * one with the installed htmlparser2 (an upgrade that changes the internals it relies on fails
 * here instead of passing unnoticed).
 */
import { Tokenizer } from 'htmlparser2';
import { describe, expect, test } from 'vitest';
import { createTokenizer, FAST_TOKENIZER_ACTIVE } from '../../crawler/fast-tokenizer.js';
import { seededRandom } from '../support/seeded-random.js';

type Callbacks = ConstructorParameters<typeof Tokenizer>[1];

function recorder(out: string[]): Callbacks {
  const span = (name: string) => (start: number, end: number): void => {
    out.push(`${name} ${start}-${end}`);
  };
  return {
    onattribdata: span('attribdata'),
    onattribentity: (codepoint) => out.push(`attribentity ${codepoint}`),
    onattribend: (quote, end) => out.push(`attribend ${quote} ${end}`),
    onattribname: span('attribname'),
    oncdata: span('cdata'),
    onclosetag: span('closetag'),
    oncomment: span('comment'),
    ondeclaration: span('declaration'),
    onend: () => out.push('end'),
    onopentagend: (end) => out.push(`opentagend ${end}`),
    onopentagname: span('opentagname'),
    onprocessinginstruction: span('pi'),
    onselfclosingtag: (end) => out.push(`selfclosing ${end}`),
    ontext: span('text'),
    ontextentity: (codepoint, end) => out.push(`textentity ${codepoint} ${end}`),
  };
}

function run(create: (cbs: Callbacks) => Tokenizer, text: string, chunkSize: number): string[] {
  const out: string[] = [];
  const tokenizer = create(recorder(out));
  for (let i = 0; i < text.length; i += chunkSize) tokenizer.write(text.slice(i, i + chunkSize));
  tokenizer.end();
  return out;
}

const stock = (cbs: Callbacks): Tokenizer => new Tokenizer({ decodeEntities: false }, cbs);

/** pieces of markup, well and badly formed, that pass through every state that skips ahead */
const PIECES = [
  '<p>', '</p>', '<IMG SRC="/a.jpg">', "<img src='/b.jpg' alt='x'>", '<img src=/c.jpg>', '<a href="x.mp4?a=1&amp;b=2">',
  '<br/>', '<!-- c -->', '<!-- <img src="/no.jpg"> -->', '<!--->', '<!doctype html>', '<?pi x?>', '<![CDATA[ <b> ]]>',
  '<script>a < b && "</div>"</script>', '<style>p > a {}</style>', '<title>t < u</title>', '<textarea><img></textarea>',
  'text', ' < ', ' > ', '&amp;', '&#60;', 'ü', '🙂', '"', "'", '=', '<', '>', '/', '-', '!', '?', '\n',
  '<meta property="og:image" content="/og.jpg" >', '<source srcset="/s.jpg 1x, /t.jpg 2x">', '<div class = "a" data-x=\'y\' hidden>',
];

function page(next: () => number): string {
  const n = 1 + Math.floor(next() * 60);
  let out = '';
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(next() * PIECES.length)];
  return out;
}

describe('fast tokenizer', () => {
  test('is in use with the installed htmlparser2', () => {
    expect(FAST_TOKENIZER_ACTIVE).toBe(true);
  });

  test.each([1, 2, 5, 13, 64, 100_000])('reports what htmlparser2 reports, generated pages in %i-character chunks', (chunkSize) => {
    for (let seed = 1; seed <= 300; seed++) {
      const text = page(seededRandom(seed * 7_919 + chunkSize));
      const expected = run(stock, text, chunkSize);
      expect(run(createTokenizer, text, chunkSize), `seed ${seed}: ${JSON.stringify(text)}`).toEqual(expected);
    }
  });
});
