/**
 * The hash list (`hashList.files`, issue 3 item 5): digests of known illegal content, in memory,
 * looked up with the digests of fetched bodies. A match makes the check job set the verdict
 * `illegal` with source `hash_list`.
 *
 * Files are watched (fs.watch on their directories, so a file replaced by rename is seen) and
 * re-read after a quiet period; {@link HashList.reload} is also the polling fallback, re-reading
 * only when a file's size, mtime or inode changed. A reload builds a complete new list before
 * swapping it in: until then, and when it fails, the old list stays in use.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { HashLookup } from '../core/content-digests.js';
import { algorithmOfDigest } from '../core/content-digests.js';
import type { HashAlgorithm } from '../core/fetcher.js';
import { parseHashListFiles, type HashListLineError, type ParsedHashList } from './hash-list-parser.js';

export type { HashListLineError } from './hash-list-parser.js';

/** `hashList.*` and tuning knobs (tests shorten the debounce and switch polling off). */
export interface HashListOptions {
  files: readonly string[];
  /** quiet time after a file event before re-reading. @default 200 */
  debounceMs?: number;
  /** polling interval of {@link HashList.reload}; 0 = no polling. @default 60000 */
  pollIntervalMs?: number;
  /** bad lines described at most (all are counted). @default 100 */
  maxErrors?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

/** Payload of the `reload` event. */
export interface HashListReload {
  size: number;
  badLines: number;
  loadedAt: Date;
}

interface Snapshot extends ParsedHashList {
  loadedAt: Date;
  stamps: string[];
}

/**
 * Events: `reload` (HashListReload) after a new list is in use; `reloadError` (Error) when a
 * reload failed and the old list was kept.
 */
export class HashList extends EventEmitter implements HashLookup {
  private snapshot: Snapshot;
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private running: Promise<boolean> | null = null;
  private again = false;
  private closed = false;

  private constructor(private readonly options: HashListOptions, first: Snapshot) {
    super();
    this.snapshot = first;
  }

  /**
   * Load the files and start watching them.
   * @throws the file system's error when a file cannot be read at start
   */
  static async open(options: HashListOptions): Promise<HashList> {
    const now = options.now ?? (() => new Date());
    const stamps = await stampFiles(options.files);
    const parsed = await parseHashListFiles(options.files, options.maxErrors);
    const list = new HashList(options, { ...parsed, stamps, loadedAt: now() });
    list.startWatching();
    return list;
  }

  /** Whether a hex digest (any case; md5, sha1 or sha256 by length) is in the list. */
  has(digest: string): boolean {
    const algorithm = algorithmOfDigest(digest);
    return algorithm !== null && (this.snapshot.sets.get(algorithm)?.has(digest.toLowerCase()) ?? false);
  }

  /** distinct digests in the list in use */
  get size(): number {
    return this.snapshot.size;
  }

  /** digests per algorithm in the list in use */
  sizeOf(algorithm: HashAlgorithm): number {
    return this.snapshot.sets.get(algorithm)?.size ?? 0;
  }

  /** when the list in use was read */
  get loadedAt(): Date {
    return this.snapshot.loadedAt;
  }

  /** bad lines of the list in use (the first `maxErrors`) */
  get errors(): readonly HashListLineError[] {
    return this.snapshot.errors;
  }

  /** number of bad lines of the list in use */
  get badLines(): number {
    return this.snapshot.badLines;
  }

  /**
   * Re-read the files if any changed (size, mtime, inode) since the list in use was read.
   * Concurrent calls share one run (and one more run when asked during it).
   * @returns whether a new list was swapped in; failures are emitted as `reloadError`, not thrown
   */
  reload(): Promise<boolean> {
    return this.schedule(false);
  }

  /** Stop watching and polling. The list stays readable. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.poll) clearInterval(this.poll);
    for (const w of this.watchers) w.close();
    await this.running?.catch(() => false);
  }

  private schedule(force: boolean): Promise<boolean> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let swapped = false;
      let forceNow = force;
      do {
        this.again = false;
        swapped = (await this.reloadOnce(forceNow)) || swapped;
        forceNow = true; // asked again during a run: something changed while reading
      } while (this.again && !this.closed);
      return swapped;
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async reloadOnce(force: boolean): Promise<boolean> {
    if (this.closed) return false;
    try {
      const stamps = await stampFiles(this.options.files);
      if (!force && stamps.every((s, i) => s === this.snapshot.stamps[i])) return false;
      const parsed = await parseHashListFiles(this.options.files, this.options.maxErrors);
      const now = this.options.now ?? (() => new Date());
      this.snapshot = { ...parsed, stamps, loadedAt: now() };
      this.emit('reload', { size: parsed.size, badLines: parsed.badLines, loadedAt: this.snapshot.loadedAt } satisfies HashListReload);
      return true;
    } catch (err) {
      this.emit('reloadError', err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  /** A file event: re-read after a quiet period (editors write in several steps). */
  private onFileEvent(): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      // forced: a rewrite within the file system's timestamp granularity keeps size and mtime
      void this.schedule(true);
    }, this.options.debounceMs ?? 200);
  }

  private startWatching(): void {
    const byDirectory = new Map<string, Set<string>>();
    for (const file of this.options.files) {
      const dir = path.dirname(path.resolve(file));
      const names = byDirectory.get(dir) ?? new Set<string>();
      names.add(path.basename(file));
      byDirectory.set(dir, names);
    }
    for (const [dir, names] of byDirectory) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) this.onFileEvent();
        });
        // a lost watch (directory removed, inotify limits) leaves polling in charge
        watcher.on('error', (err) => this.emit('reloadError', err));
        this.watchers.push(watcher);
      } catch (err) {
        queueMicrotask(() => this.emit('reloadError', err instanceof Error ? err : new Error(String(err))));
      }
    }
    const every = this.options.pollIntervalMs ?? 60_000;
    if (every > 0) {
      this.poll = setInterval(() => void this.reload(), every);
      this.poll.unref();
    }
  }
}

async function stampFiles(files: readonly string[]): Promise<string[]> {
  return Promise.all(
    files.map(async (file) => {
      const s = await stat(file, { bigint: true });
      return `${s.size}:${s.mtimeNs}:${s.ino}`;
    }),
  );
}
