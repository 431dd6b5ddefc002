/**
 * Country and network (ASN) of an address, from the configured MaxMind DB files
 * (CONTRACT.md §3 `tracing.countryDb`, `tracing.asnDb`).
 *
 * Several files of a kind are tried in order and the first answer wins, so an operator can list a
 * licensed database before a free one, or separate IPv4 and IPv6 files. Each file reloads when it
 * changes on disk ({@link MmdbFile}); its `database_type` and `build_epoch` go into every trace.
 */
import { bundledCountryDbPaths } from './bundled-databases.js';
import { canonicalIp, isDottedQuad } from './canonical-ip.js';
import { asnFromRecord, countryFromRecord, type CountryField } from './geo-records.js';
import { MmdbFile, type MmdbEvent, type MmdbVersion } from './mmdb-file.js';

export type { MmdbEvent, MmdbVersion } from './mmdb-file.js';

/** A loaded database and what it is used for. */
export interface GeoDatabaseVersion extends MmdbVersion {
  role: 'country' | 'asn';
}

export interface CountryAnswer {
  /** ISO 3166-1 alpha-2, or null when no database knows the address */
  country: string | null;
  /** path of the database that answered */
  database: string | null;
  field: CountryField | null;
}

export interface AsnAnswer {
  asn: number | null;
  org: string | null;
  /** path of the database that answered */
  database: string | null;
}

export interface GeoDatabasesOptions {
  /** mmdb paths (GeoIP2/GeoLite2-Country or `{country_code}` schema). Empty = the bundled files. */
  countryDb: readonly string[];
  /** mmdb paths (GeoLite2-ASN schema). Empty = no ASN data. */
  asnDb: readonly string[];
  /** Reload files when they change. @default true */
  watch?: boolean;
  /** Decoded records cached per file. @default 10000 */
  cacheSize?: number;
  /** Quiet time after a change before reloading, ms. @default 50 */
  debounceMs?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

const NO_COUNTRY: CountryAnswer = Object.freeze({ country: null, database: null, field: null });
const NO_ASN: AsnAnswer = Object.freeze({ asn: null, org: null, database: null });

/** The open country and ASN databases. Create with {@link GeoDatabases.open}. */
export class GeoDatabases {
  private readonly listeners = new Set<(event: MmdbEvent) => void>();
  /** decoded record → answer, per file; a reload brings new record objects, so old entries just go */
  private readonly countryMemo: WeakMap<object, CountryAnswer>[];
  private readonly asnMemo: WeakMap<object, AsnAnswer>[];

  private constructor(
    private readonly countryFiles: MmdbFile[],
    private readonly asnFiles: MmdbFile[],
  ) {
    this.countryMemo = countryFiles.map(() => new WeakMap());
    this.asnMemo = asnFiles.map(() => new WeakMap());
  }

  /**
   * Open every configured file (the bundled country files when `countryDb` is empty).
   * @throws TracingError VIGIL_GEO_DB_UNREADABLE naming the first file that cannot be used;
   *   files already opened are closed again
   */
  static async open(options: GeoDatabasesOptions): Promise<GeoDatabases> {
    const countryPaths = options.countryDb.length > 0 ? [...options.countryDb] : bundledCountryDbPaths();
    const holder: { db?: GeoDatabases } = {};
    const fileOptions = {
      watch: options.watch ?? true,
      cacheSize: options.cacheSize,
      debounceMs: options.debounceMs,
      now: options.now,
      onEvent: (event: MmdbEvent) => holder.db?.emit(event),
    };
    const opened: MmdbFile[] = [];
    try {
      const openAll = async (paths: readonly string[]): Promise<MmdbFile[]> => {
        const files: MmdbFile[] = [];
        for (const path of paths) {
          const file = await MmdbFile.open(path, fileOptions);
          opened.push(file);
          files.push(file);
        }
        return files;
      };
      const countryFiles = await openAll(countryPaths);
      const asnFiles = await openAll(options.asnDb);
      holder.db = new GeoDatabases(countryFiles, asnFiles);
      return holder.db;
    } catch (err) {
      for (const f of opened) f.close();
      throw err;
    }
  }

  /**
   * The country of `ip` from the first database that knows it. Never throws. The answer is
   * shared and frozen: do not change it.
   */
  country(ip: string): CountryAnswer {
    // The hot path (plain IPv4) allocates nothing: answers are memoised per decoded record.
    let addr = ip;
    let family: 4 | 6 = 4;
    if (!isDottedQuad(ip)) {
      const at = canonicalIp(ip);
      if (at === null) return NO_COUNTRY;
      addr = at.ip;
      family = at.family;
    }
    for (let i = 0; i < this.countryFiles.length; i++) {
      const file = this.countryFiles[i] as MmdbFile;
      const record = file.get(addr, family);
      if (record === null) continue;
      const memo = this.countryMemo[i] as WeakMap<object, CountryAnswer>;
      let answer = memo.get(record);
      if (answer === undefined) {
        const found = countryFromRecord(record);
        answer = found === null ? NO_COUNTRY : Object.freeze({ country: found.country, database: file.path, field: found.field });
        memo.set(record, answer);
      }
      if (answer !== NO_COUNTRY) return answer;
    }
    return NO_COUNTRY;
  }

  /**
   * The autonomous system of `ip` from the first database that knows it. Never throws. The
   * answer is shared and frozen: do not change it.
   */
  asn(ip: string): AsnAnswer {
    let addr = ip;
    let family: 4 | 6 = 4;
    if (!isDottedQuad(ip)) {
      const at = canonicalIp(ip);
      if (at === null) return NO_ASN;
      addr = at.ip;
      family = at.family;
    }
    for (let i = 0; i < this.asnFiles.length; i++) {
      const file = this.asnFiles[i] as MmdbFile;
      const record = file.get(addr, family);
      if (record === null) continue;
      const memo = this.asnMemo[i] as WeakMap<object, AsnAnswer>;
      let answer = memo.get(record);
      if (answer === undefined) {
        const found = asnFromRecord(record);
        answer = found === null ? NO_ASN : Object.freeze({ ...found, database: file.path });
        memo.set(record, answer);
      }
      if (answer !== NO_ASN) return answer;
    }
    return NO_ASN;
  }

  /** Every database in use, country files first, in lookup order. */
  versions(): GeoDatabaseVersion[] {
    return [
      ...this.countryFiles.map((f) => ({ role: 'country' as const, ...f.version })),
      ...this.asnFiles.map((f) => ({ role: 'asn' as const, ...f.version })),
    ];
  }

  /**
   * Listen for reloads (and failed reloads, after which the old file stays in use).
   * @returns a function that stops listening
   */
  onEvent(listener: (event: MmdbEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Re-read every file that changed, now (also what a file change triggers by itself). */
  async reload(): Promise<void> {
    await Promise.all([...this.countryFiles, ...this.asnFiles].map((f) => f.reload()));
  }

  /** Stop watching the files. Lookups keep answering from what was last loaded. */
  close(): void {
    for (const f of [...this.countryFiles, ...this.asnFiles]) f.close();
    this.listeners.clear();
  }

  private emit(event: MmdbEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the databases keep working.
      }
    }
  }
}
