/**
 * A bounded cache whose entries expire: least recently used entries are dropped first when full.
 * Time is read through `now` so tests control it.
 */
export class TtlCache<V> {
  private readonly map = new Map<string, { value: V; expiresAt: number }>();

  /**
   * @param maxEntries entries kept at most
   * @param now clock in ms. @default Date.now
   */
  constructor(private readonly maxEntries: number, private readonly now: () => number = Date.now) {}

  /** The live value under `key` (marked most recently used), or undefined. */
  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    this.map.delete(key);
    if (hit.expiresAt <= this.now()) return undefined;
    this.map.set(key, hit);
    return hit.value;
  }

  /** Keep `value` for `ttlMs` (nothing is kept when `ttlMs` ≤ 0). */
  set(key: string, value: V, ttlMs: number): void {
    this.map.delete(key);
    if (ttlMs <= 0 || this.maxEntries <= 0) return;
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
