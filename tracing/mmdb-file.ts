/**
 * One MaxMind DB file, open for lookups and reloaded when the file changes on disk.
 *
 * Operators replace GeoIP files while the daemon runs (geoipupdate writes a new file and renames
 * it over the old one). The directory is watched, not the file: a rename replaces the inode a
 * file watch would be attached to. A new file is read and parsed completely before it replaces
 * the reader in use; a half-written or broken file leaves the old reader answering and is
 * reported as a `reload-failed` event.
 */
import { watch, watchFile, unwatchFile, type FSWatcher, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Reader } from 'maxmind';
import { TracingError } from './tracing-errors.js';

/** What was loaded from a file: the provenance a trace records. */
export interface MmdbVersion {
  path: string;
  /** metadata `database_type`, e.g. `GeoLite2-Country`, `country ipv4` */
  databaseType: string;
  /** metadata `build_epoch`, ISO 8601 */
  buildEpoch: string;
  /** 4: IPv4 addresses only; 6: IPv6 (and IPv4 under ::/96) */
  ipVersion: 4 | 6;
  /** ISO 8601 time the file was loaded */
  loadedAt: string;
}

/** A reload happened, or failed and the previous file stays in use. */
export type MmdbEvent =
  | { type: 'reloaded'; path: string; version: MmdbVersion; previous: MmdbVersion }
  | { type: 'reload-failed'; path: string; error: Error };

export interface MmdbFileOptions {
  /** Reload when the file changes. @default true */
  watch?: boolean;
  /** Decoded records kept in memory per file. @default 10000 */
  cacheSize?: number;
  /** Quiet time after the last change event before reloading, ms. @default 50 */
  debounceMs?: number;
  /** Told about every reload and failed reload. */
  onEvent?: (event: MmdbEvent) => void;
  /** @default () => new Date() */
  now?: () => Date;
}

/** A Map-backed record cache for mmdb-lib; dropped whole when full (cheaper than LRU upkeep). */
function boundedCache(max: number): { get(key: string | number): unknown; set(key: string | number, value: unknown): void } {
  const map = new Map<string | number, unknown>();
  return {
    get: (key) => map.get(key),
    set: (key, value) => {
      if (map.size >= max) map.clear();
      map.set(key, value);
    },
  };
}

interface Loaded {
  reader: Reader<Record<string, unknown>>;
  version: MmdbVersion;
  /** copied from `version` for the lookup hot path */
  ipVersion: 4 | 6;
  hasIpv4: boolean;
  /** identity of the file that was read, to skip change events that changed nothing */
  identity: string;
}

const identityOf = (s: Stats): string => `${s.ino}:${s.size}:${s.mtimeMs}`;

async function load(path: string, cacheSize: number, now: Date): Promise<Loaded> {
  let buffer: Buffer;
  let info: Stats;
  try {
    info = await stat(path);
    buffer = await readFile(path);
  } catch (err) {
    throw new TracingError('VIGIL_GEO_DB_UNREADABLE', `${path}: ${(err as Error).message}`, { cause: err });
  }
  if (buffer[0] === 0x1f && buffer[1] === 0x8b) {
    throw new TracingError('VIGIL_GEO_DB_UNREADABLE', `${path}: gzip-compressed; unpack it (gunzip) and point the configuration at the .mmdb file`);
  }
  let reader: Reader<Record<string, unknown>>;
  try {
    reader = new Reader<Record<string, unknown>>(buffer, { cache: boundedCache(cacheSize) });
  } catch (err) {
    throw new TracingError('VIGIL_GEO_DB_UNREADABLE', `${path}: not a MaxMind DB file (${(err as Error).message})`, { cause: err });
  }
  const meta = reader.metadata;
  const ipVersion = meta.ipVersion === 4 ? 4 : 6;
  // An IPv6 tree holds IPv4 data under ::/96 only if that subtree is not empty: when it is, every
  // IPv4 lookup ends at depth 0, and the file can be skipped for IPv4 addresses.
  let hasIpv4 = true;
  if (ipVersion === 6) {
    const [record, depth] = reader.getWithPrefixLength('0.0.0.0');
    hasIpv4 = record !== null || depth > 0;
  }
  return {
    reader,
    ipVersion,
    hasIpv4,
    identity: identityOf(info),
    version: {
      path,
      databaseType: String(meta.databaseType),
      buildEpoch: meta.buildEpoch instanceof Date && !Number.isNaN(meta.buildEpoch.getTime()) ? meta.buildEpoch.toISOString() : 'unknown',
      ipVersion,
      loadedAt: now.toISOString(),
    },
  };
}

/** An open mmdb file. Create with {@link MmdbFile.open}. */
export class MmdbFile {
  private current: Loaded;
  private watcher: FSWatcher | null = null;
  private polling = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private reloading: Promise<void> | null = null;
  private again = false;
  private closed = false;

  private constructor(readonly path: string, loaded: Loaded, private readonly options: Required<Omit<MmdbFileOptions, 'onEvent'>> & Pick<MmdbFileOptions, 'onEvent'>) {
    this.current = loaded;
  }

  /**
   * Open `path` and, unless `watch: false`, start watching it.
   * @throws TracingError VIGIL_GEO_DB_UNREADABLE when the file cannot be read or parsed
   */
  static async open(path: string, options: MmdbFileOptions = {}): Promise<MmdbFile> {
    const resolved = {
      watch: options.watch ?? true,
      cacheSize: options.cacheSize ?? 10_000,
      debounceMs: options.debounceMs ?? 50,
      now: options.now ?? (() => new Date()),
      onEvent: options.onEvent,
    };
    const file = new MmdbFile(path, await load(path, resolved.cacheSize, resolved.now()), resolved);
    if (resolved.watch) file.startWatching();
    return file;
  }

  get version(): MmdbVersion { return this.current.version; }
  get ipVersion(): 4 | 6 { return this.current.version.ipVersion; }
  /** whether the file can hold data for IPv4 addresses */
  get hasIpv4(): boolean { return this.current.hasIpv4; }

  /**
   * The record for an address in canonical form (IPv4 dotted, or IPv6 that is not IPv4-mapped).
   * Never throws: an address this file cannot hold gives null.
   */
  get(ip: string, family: 4 | 6): Record<string, unknown> | null {
    const loaded = this.current;
    if (family === 4 ? !loaded.hasIpv4 : loaded.ipVersion === 4) return null;
    try {
      return loaded.reader.get(ip);
    } catch {
      return null; // a corrupt tree or data section: no answer rather than a crashed trace
    }
  }

  /** Read the file again now; resolves when done (events tell how it went). */
  reload(): Promise<void> {
    if (this.reloading !== null) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again && !this.closed);
    })().finally(() => { this.reloading = null; });
    return this.reloading;
  }

  /** Stop watching. Lookups keep working with the file last loaded. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = null;
    if (this.polling) unwatchFile(this.path);
  }

  private async reloadOnce(): Promise<void> {
    let identity: string;
    try {
      identity = identityOf(await stat(this.path));
    } catch {
      return; // gone for now (mid-rename, or removed): keep the reader in use, wait for the next event
    }
    if (identity === this.current.identity) return;
    try {
      const next = await load(this.path, this.options.cacheSize, this.options.now());
      if (this.closed) return;
      const previous = this.current.version;
      this.current = next;
      this.options.onEvent?.({ type: 'reloaded', path: this.path, version: next.version, previous });
    } catch (err) {
      this.options.onEvent?.({ type: 'reload-failed', path: this.path, error: err as Error });
    }
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reload();
    }, this.options.debounceMs);
    this.timer.unref();
  }

  private startWatching(): void {
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === name) this.schedule();
      });
      this.watcher.on('error', () => this.fallBackToPolling());
    } catch {
      this.fallBackToPolling();
    }
  }

  /** Where directory events are not available (some network file systems): poll the file. */
  private fallBackToPolling(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.polling || this.closed) return;
    this.polling = true;
    watchFile(this.path, { persistent: false, interval: 5_000 }, () => this.schedule());
  }
}
