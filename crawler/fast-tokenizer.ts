/**
 * htmlparser2's Tokenizer with one step made fast: skipping to the next occurrence of a character
 * (the next `<` of text, the closing quote of an attribute value, the `>` of a comment…).
 *
 * htmlparser2 12 does that step with a `charCodeAt` loop, one character at a time; here it is
 * `String.prototype.indexOf`, which V8 runs over the whole string at once. On the crawler
 * benchmark's page that step was 30 % of a page's scan (bench/crawler-bench.ts). Everything else —
 * states, raw-text elements, comments, callbacks — is the library's own.
 *
 * The step replaced is internal to the library (`private fastForwardTo` in its typings), so this
 * module checks itself when it loads: it tokenizes a sample that passes through every state that
 * skips ahead, whole and in small chunks, with the library's tokenizer and with this one, and uses
 * this one only if both report the same events. {@link FAST_TOKENIZER_ACTIVE} says which is in
 * use (a test asserts it for the installed version, so an upgrade that changes the internals is
 * noticed rather than silently slower or wrong).
 */
import { Tokenizer } from 'htmlparser2';

type Callbacks = ConstructorParameters<typeof Tokenizer>[1];

/** The fields of the library's tokenizer that the step reads and moves. */
interface TokenizerInternals {
  index: number;
  offset: number;
  buffer: string;
}

/** single-character strings, so that the step allocates nothing */
const CHARACTERS = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code));

/**
 * Move `index` to the next `c` after it and say true; or to the last character of the buffer and
 * say false — exactly what the library's loop does.
 */
function fastForwardTo(this: TokenizerInternals, c: number): boolean {
  const found = this.buffer.indexOf(CHARACTERS[c] ?? String.fromCharCode(c), this.index + 1 - this.offset);
  if (found !== -1) {
    this.index = found + this.offset;
    return true;
  }
  this.index = this.buffer.length + this.offset - 1;
  return false;
}

class IndexOfTokenizer extends Tokenizer {}
Object.defineProperty(IndexOfTokenizer.prototype, 'fastForwardTo', { value: fastForwardTo, writable: true, configurable: true });

/**
 * Text through every state that skips ahead: text, quoted and unquoted attribute values (entity
 * decoding off, as the crawler runs it), comments, a declaration, a processing instruction, CDATA,
 * raw text (script, style, title, textarea), an unclosed end, and characters beyond Latin-1.
 */
const SAMPLE = [
  '<!doctype html><html><head><title>a < b &amp; <i>c</i></title>',
  '<meta property="og:image" content="/a.jpg?x=1&amp;y=2"><?xml-stylesheet href="s"?>',
  '<style>p > a { color: red } </styl </style><script>if (a < b && c > d) { x = "</div>"; }</script>',
  '</head><body class=x data-y = \'z\'>text “ünïcödé” 🙂 <!-- a comment with <img src="/no.jpg"> -- inside -->',
  '<![CDATA[ cdata <img> ]]><img src="/1.jpg" srcset="/2.jpg 2x, /3.jpg 3x" alt=\'it\'s\'>',
  '<textarea><img src="/t.jpg"></textarea><p>para<br/>graph</p><a href=/v.mp4 >link</a>',
  '<!-- unterminated comment at the end < >',
].join('\n');

/** the events a tokenizer reports for `chunks`, with the text they cover */
function events(create: (cbs: Callbacks) => Tokenizer, chunks: readonly string[]): string[] {
  const text = chunks.join('');
  const out: string[] = [];
  const record = (name: string) => (start: number, end: number): void => {
    out.push(`${name}:${text.slice(start, end)}`);
  };
  const cbs: Callbacks = {
    onattribdata: record('attribdata'),
    onattribentity: (codepoint: number) => out.push(`attribentity:${codepoint}`),
    onattribend: (quote: number, end: number) => out.push(`attribend:${quote}:${end}`),
    onattribname: record('attribname'),
    oncdata: record('cdata'),
    onclosetag: record('closetag'),
    oncomment: record('comment'),
    ondeclaration: record('declaration'),
    onend: () => out.push('end'),
    onopentagend: (end: number) => out.push(`opentagend:${end}`),
    onopentagname: record('opentagname'),
    onprocessinginstruction: record('pi'),
    onselfclosingtag: (end: number) => out.push(`selfclosing:${end}`),
    ontext: record('text'),
    ontextentity: (codepoint: number, end: number) => out.push(`textentity:${codepoint}:${end}`),
  };
  const tokenizer = create(cbs);
  for (const chunk of chunks) tokenizer.write(chunk);
  tokenizer.end();
  return out;
}

function chunked(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function sameAsLibrary(): boolean {
  for (const chunks of [[SAMPLE], chunked(SAMPLE, 7), chunked(SAMPLE, 1)]) {
    const stock = events((cbs) => new Tokenizer({ decodeEntities: false }, cbs), chunks);
    const fast = events((cbs) => new IndexOfTokenizer({ decodeEntities: false }, cbs), chunks);
    if (stock.length < 20 || stock.length !== fast.length || stock.some((e, i) => e !== fast[i])) return false;
  }
  return true;
}

/** Whether {@link createTokenizer} gives the fast tokenizer (false: the library's, unchanged). */
export const FAST_TOKENIZER_ACTIVE = sameAsLibrary();

/** A tokenizer with entity decoding off (the crawler's only use), fast when the check passed. */
export function createTokenizer(callbacks: Callbacks): Tokenizer {
  return FAST_TOKENIZER_ACTIVE
    ? new IndexOfTokenizer({ decodeEntities: false }, callbacks)
    : new Tokenizer({ decodeEntities: false }, callbacks);
}
