/**
 * A streaming scan of HTML for the attributes of a few tags, on htmlparser2's Tokenizer (the
 * same tokenizer as htmlparser2's Parser, so the same HTML reading: raw-text elements, comments,
 * entities in attribute values). It skips what the Parser does for every element — building an
 * attribute object, slicing text, keeping the open-element stack — which made the Parser the
 * largest per-page cost of a check. Text is never sliced; the chunks of the page are held only
 * until the tokenizer has moved past them.
 */
import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

/** Called with a wanted tag's name (lower-case) and its wanted attributes (first of each wins). */
export type TagHandler = (name: string, attributes: Readonly<Record<string, string>>) => void;

/** Feed it text with {@link HtmlTagScanner.write}, then {@link HtmlTagScanner.end}. */
export class HtmlTagScanner {
  private readonly tokenizer: Tokenizer;
  /** chunks not yet passed, and the absolute index of the first one's start */
  private chunks: string[] = [];
  private chunksStart = 0;
  private tag: string | null = null;
  private attributes: Record<string, string> = {};
  private attribute: string | null = null;
  private value = '';

  /**
   * @param wanted tag name → attribute names (lower-case) to collect
   * @param onTag called at the end of each wanted start tag
   */
  constructor(private readonly wanted: ReadonlyMap<string, ReadonlySet<string>>, private readonly onTag: TagHandler) {
    const callbacks: TokenizerCallbacks = {
      onopentagname: (start, end) => this.openTag(start, end),
      onattribname: (start, end) => this.attributeName(start, end),
      onattribdata: (start, end) => {
        if (this.attribute !== null) this.value += this.slice(start, end);
      },
      onattribentity: (codepoint) => {
        if (this.attribute !== null) this.value += String.fromCodePoint(codepoint);
      },
      onattribend: () => this.attributeEnd(),
      onopentagend: () => this.tagEnd(),
      onselfclosingtag: () => this.tagEnd(),
      ontext: (_start, end) => this.release(end),
      ontextentity: () => {},
      onclosetag: (_start, end) => this.release(end),
      oncomment: (_start, end) => this.release(end),
      oncdata: (_start, end) => this.release(end),
      ondeclaration: (_start, end) => this.release(end),
      onprocessinginstruction: (_start, end) => this.release(end),
      onend: () => {},
    };
    this.tokenizer = new Tokenizer({ decodeEntities: true }, callbacks);
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

  private openTag(start: number, end: number): void {
    const name = end - start <= 8 ? this.slice(start, end).toLowerCase() : '';
    this.tag = this.wanted.has(name) ? name : null;
    this.attributes = {};
    this.attribute = null;
  }

  private attributeName(start: number, end: number): void {
    this.value = '';
    if (this.tag === null) return;
    const name = this.slice(start, end).toLowerCase();
    const wanted = this.wanted.get(this.tag)?.has(name) === true && !(name in this.attributes);
    this.attribute = wanted ? name : null;
  }

  private attributeEnd(): void {
    if (this.attribute !== null) this.attributes[this.attribute] = this.value;
    this.attribute = null;
    this.value = '';
  }

  private tagEnd(): void {
    if (this.tag !== null) this.onTag(this.tag, this.attributes);
    this.tag = null;
    this.attributes = {};
  }

  /** The text between two absolute indices (it may span chunks). */
  private slice(start: number, end: number): string {
    this.release(start);
    let out = '';
    let offset = this.chunksStart;
    for (const chunk of this.chunks) {
      if (offset >= end) break;
      const from = Math.max(0, start - offset);
      const to = Math.min(chunk.length, end - offset);
      if (to > from) out += chunk.slice(from, to);
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
