/**
 * Collects the media an HTML page references while the body streams past (issue 3 item 4),
 * with htmlparser2's tokenizer in streaming mode (crawler/html-tag-scanner.ts): the page is read
 * chunk by chunk and never kept; only the absolute URLs of media references are. Which
 * attributes count, and how a value becomes a URL, is in core/media-refs.ts.
 */
import { StringDecoder } from 'node:string_decoder';
import { MAX_MEDIA_REFS } from '../core/fetcher.js';
import {
  IMG_SRC_ATTRIBUTES,
  isMediaLink,
  MEDIA_META_NAMES,
  parseSrcset,
  RefResolver,
  SRCSET_ATTRIBUTES,
} from '../core/media-refs.js';
import { HtmlTagScanner } from './html-tag-scanner.js';

export interface CollectedRefs {
  /** absolute http(s) URLs, first-seen order, de-duplicated */
  refs: string[];
  /** the bound was reached: the page may reference more */
  capped: boolean;
}

type Attributes = Readonly<Record<string, string>>;

/** The tags and attributes that can name media; everything else is skipped unread. */
const WANTED: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['base', new Set(['href'])],
  ['img', new Set([...IMG_SRC_ATTRIBUTES, ...SRCSET_ATTRIBUTES])],
  ['source', new Set(['src', ...SRCSET_ATTRIBUTES])],
  ['video', new Set(['src', 'poster'])],
  ['audio', new Set(['src'])],
  ['a', new Set(['href'])],
  ['meta', new Set(['property', 'name', 'content'])],
  ['link', new Set(['rel', 'href'])],
]);

/** Feed it the decoded bytes of one HTML page, then call {@link MediaRefCollector.end}. */
export class MediaRefCollector {
  private readonly refs = new Set<string>();
  private capped = false;
  private resolver: RefResolver;
  private baseSeen = false;
  private readonly decoder = new StringDecoder('utf8');
  private readonly scanner: HtmlTagScanner;

  /**
   * @param documentUrl the page's URL (after redirects): the base until a `<base href>`
   * @param max references kept at most. @default MAX_MEDIA_REFS
   */
  constructor(documentUrl: string, private readonly max = MAX_MEDIA_REFS) {
    this.resolver = new RefResolver(documentUrl);
    this.scanner = new HtmlTagScanner(WANTED, (name, attributes) => this.onOpenTag(name, attributes));
  }

  /** Feed the next decoded body bytes (UTF-8; a character split across chunks is kept whole). */
  write(chunk: Uint8Array): void {
    this.scanner.write(this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }

  /** Feed the next piece of the page as text (already decoded by the caller), instead of bytes. */
  writeText(text: string): void {
    this.scanner.write(text);
  }

  /** The body has ended (or was cut): the references found. */
  end(): CollectedRefs {
    this.scanner.write(this.decoder.end());
    this.scanner.end();
    return { refs: [...this.refs], capped: this.capped };
  }

  private add(raw: string | undefined): void {
    if (raw === undefined) return;
    const url = this.resolver.resolve(raw);
    if (url === null || this.refs.has(url)) return;
    if (this.refs.size >= this.max) {
      this.capped = true;
      return;
    }
    this.refs.add(url);
  }

  private addSrcset(value: string | undefined): void {
    if (value !== undefined) for (const url of parseSrcset(value)) this.add(url);
  }

  private onOpenTag(name: string, a: Attributes): void {
    switch (name) {
      case 'base':
        // only the first <base href> counts (HTML: "the document base URL")
        if (!this.baseSeen && a.href !== undefined) {
          this.baseSeen = true;
          const base = this.resolver.resolve(a.href);
          if (base !== null) this.resolver = new RefResolver(base);
        }
        return;
      case 'img':
        for (const attr of IMG_SRC_ATTRIBUTES) this.add(a[attr]);
        for (const attr of SRCSET_ATTRIBUTES) this.addSrcset(a[attr]);
        return;
      case 'source':
        // <picture>, <video> and <audio> children alike
        this.add(a.src);
        for (const attr of SRCSET_ATTRIBUTES) this.addSrcset(a[attr]);
        return;
      case 'video':
        this.add(a.src);
        this.add(a.poster);
        return;
      case 'audio':
        this.add(a.src);
        return;
      case 'a':
        this.addMediaLink(a.href);
        return;
      case 'meta': {
        const key = (a.property ?? a.name ?? '').trim().toLowerCase();
        if (MEDIA_META_NAMES.has(key)) this.add(a.content);
        return;
      }
      case 'link':
        if ((a.rel ?? '').toLowerCase().split(/\s+/).includes('image_src')) this.add(a.href);
        return;
      default:
        return;
    }
  }

  private addMediaLink(href: string | undefined): void {
    if (href === undefined) return;
    const url = this.resolver.resolve(href);
    if (url !== null && isMediaLink(url)) this.add(url);
  }
}
