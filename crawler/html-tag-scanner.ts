/**
 * A streaming scan of HTML for the attributes of a few tags, on htmlparser2's Tokenizer (the
 * same tokenizer as htmlparser2's Parser, so the same HTML reading: raw-text elements, comments,
 * character references in attribute values). It skips what the Parser does for every element —
 * building an attribute object, slicing text, keeping the open-element stack — which made the
 * Parser the largest per-page cost of a check. Text is never sliced; the chunks of the page are
 * held only until the tokenizer has moved past them.
 *
 * Speed (bench/crawler-bench.ts): the tokenizer runs with its own entity decoding off, so that it
 * skips text with one `indexOf('<')` instead of looking at every character for `&`; only the
 * values of wanted attributes are decoded, here, by the same decoder in attribute mode
 * (`entities`' decodeHTMLAttribute, the one htmlparser2 uses). Text entities are never needed.
 * The callbacks are this class's own methods, so a scanner costs no closures.
 */
import { decodeHTMLAttribute } from 'entities';
import type { Tokenizer } from 'htmlparser2';
import { createTokenizer } from './fast-tokenizer.js';

/** Called with a wanted tag's name (lower-case) and its wanted attributes (first of each wins). */
export type TagHandler = (name: string, attributes: Readonly<Record<string, string>>) => void;

/** Tag names longer than this are never wanted (and never sliced). */
const MAX_WANTED_NAME = 8;
const AMPERSAND = '&';
/** ORed into an ASCII letter's code, it gives the lower-case letter's */
const LOWER_CASE_BIT = 0x20;
/** the attributes of a tag that is not wanted: never written */
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

interface NameFilter {
  lengths: ReadonlySet<number>;
  starts: ReadonlySet<number>;
}

/** the lengths and first letters of each set of wanted names, worked out once per set */
const NAME_FILTERS = new WeakMap<ReadonlyMap<string, ReadonlySet<string>>, NameFilter>();

function nameFilter(wanted: ReadonlyMap<string, ReadonlySet<string>>): NameFilter {
  let filter = NAME_FILTERS.get(wanted);
  if (filter === undefined) {
    const names = [...wanted.keys()];
    filter = { lengths: new Set(names.map((name) => name.length)), starts: new Set(names.map((name) => name.charCodeAt(0))) };
    NAME_FILTERS.set(wanted, filter);
  }
  return filter;
}

/** Feed it text with {@link HtmlTagScanner.write}, then {@link HtmlTagScanner.end}. */
export class HtmlTagScanner {
  private readonly tokenizer: Tokenizer;
  /** chunks not yet passed, and the absolute index of the first one's start */
  private chunks: string[] = [];
  private chunksStart = 0;
  private tag: string | null = null;
  private wantedAttributes: ReadonlySet<string> | null = null;
  /** the wanted attributes of the wanted tag being read; unwanted tags get no object */
  private attributes: Record<string, string> = NO_ATTRIBUTES;
  /** lengths of the wanted names, and their first characters (lower-case char codes) */
  private readonly nameLengths: ReadonlySet<number>;
  private readonly nameStarts: ReadonlySet<number>;
  private attribute: string | null = null;
  private value = '';

  /**
   * @param wanted tag name → attribute names (lower-case) to collect
   * @param onTag called at the end of each wanted start tag
   */
  constructor(private readonly wanted: ReadonlyMap<string, ReadonlySet<string>>, private readonly onTag: TagHandler) {
    this.tokenizer = createTokenizer(this);
    const filter = nameFilter(wanted);
    this.nameLengths = filter.lengths;
    this.nameStarts = filter.starts;
  }

  /** The next piece of the page's text. */
  write(text: string): void {
    if (text === '') return;
    this.chunks.push(text);
    this.tokenizer.write(text);
  }

  /** The page has ended: flush what the tokenizer holds. */
  end(): void {
    this.tokenizer.end();
    this.chunks = [];
  }

  // ── htmlparser2 Tokenizer callbacks (the tokenizer calls them on this object) ──

  onopentagname(start: number, end: number): void {
    this.attribute = null;
    // most tags of a page (p, div, span…) are turned away by length and first letter, unsliced
    const length = end - start;
    const name = length <= MAX_WANTED_NAME && this.nameLengths.has(length) && this.nameStarts.has(this.charCodeAt(start) | LOWER_CASE_BIT)
      ? this.slice(start, end).toLowerCase()
      : '';
    const attributes = name === '' ? undefined : this.wanted.get(name);
    if (attributes === undefined) {
      this.tag = null;
      this.wantedAttributes = null;
      this.attributes = NO_ATTRIBUTES;
      return;
    }
    this.tag = name;
    this.wantedAttributes = attributes;
    this.attributes = {};
  }

  onattribname(start: number, end: number): void {
    if (this.wantedAttributes === null) return;
    this.value = '';
    const name = this.slice(start, end).toLowerCase();
    this.attribute = this.wantedAttributes.has(name) && !(name in this.attributes) ? name : null;
  }

  onattribdata(start: number, end: number): void {
    if (this.attribute !== null) this.value += this.slice(start, end);
  }

  onattribentity(): void {
    // entity decoding is off in the tokenizer: values are decoded in onattribend
  }

  onattribend(): void {
    if (this.attribute !== null) {
      this.attributes[this.attribute] = this.value.includes(AMPERSAND) ? decodeHTMLAttribute(this.value) : this.value;
    }
    this.attribute = null;
    this.value = '';
  }

  onopentagend(): void {
    this.tagEnd();
  }

  onselfclosingtag(): void {
    this.tagEnd();
  }

  ontext(_start: number, end: number): void {
    this.release(end);
  }

  ontextentity(): void {}

  onclosetag(_start: number, end: number): void {
    this.release(end);
  }

  oncomment(_start: number, end: number): void {
    this.release(end);
  }

  oncdata(_start: number, end: number): void {
    this.release(end);
  }

  ondeclaration(_start: number, end: number): void {
    this.release(end);
  }

  onprocessinginstruction(_start: number, end: number): void {
    this.release(end);
  }

  onend(): void {}

  private tagEnd(): void {
    if (this.tag !== null) this.onTag(this.tag, this.attributes);
    this.tag = null;
    this.wantedAttributes = null;
    this.attributes = NO_ATTRIBUTES;
  }

  /** The UTF-16 code unit at an absolute index (-1 past what is held). */
  private charCodeAt(index: number): number {
    this.release(index);
    const first = this.chunks[0] as string;
    const at = index - this.chunksStart;
    if (at < first.length) return first.charCodeAt(at);
    const rest = this.slice(index, index + 1);
    return rest === '' ? -1 : rest.charCodeAt(0);
  }

  /** The text between two absolute indices (it may span chunks). */
  private slice(start: number, end: number): string {
    this.release(start);
    const first = this.chunks[0] as string;
    const from = start - this.chunksStart;
    // the common case: within the first chunk held
    if (end - this.chunksStart <= first.length) return first.slice(from, end - this.chunksStart);
    let out = '';
    let offset = this.chunksStart;
    for (const chunk of this.chunks) {
      if (offset >= end) break;
      const a = Math.max(0, start - offset);
      const b = Math.min(chunk.length, end - offset);
      if (b > a) out += chunk.slice(a, b);
      offset += chunk.length;
    }
    return out;
  }

  /** Drop the chunks that end before `index`: the tokenizer never looks back past it. */
  private release(index: number): void {
    while (this.chunks.length > 1 && this.chunksStart + (this.chunks[0]?.length ?? 0) <= index) {
      this.chunksStart += this.chunks.shift()?.length ?? 0;
    }
  }
}
