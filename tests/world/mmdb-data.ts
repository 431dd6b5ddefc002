/**
 * The data section encoding of the MaxMind DB format 2.0 (test-only): control bytes, every data
 * type, and pointers for values written more than once.
 * Spec: https://maxmind.github.io/MaxMind-DB/ ("Output Data Section").
 */

/** Type numbers of the format. Numbers above 7 are written as "extended" types. */
export const MmdbType = {
  pointer: 1, utf8: 2, double: 3, bytes: 4, uint16: 5, uint32: 6, map: 7,
  int32: 8, uint64: 9, uint128: 10, array: 11, boolean: 14, float: 15,
} as const;
export type MmdbTypeName = keyof typeof MmdbType;

/** A value with an explicit MaxMind type, for types plain JS values do not map to by default. */
export class MmdbTyped {
  constructor(readonly type: Exclude<MmdbTypeName, 'pointer' | 'map' | 'array'>, readonly value: number | bigint | string | boolean | Buffer) {}
}

/**
 * A value the writer can store. Defaults: string → utf8_string, boolean → boolean, Buffer →
 * bytes, integer 0…2³²−1 → uint32, negative integer ≥ −2³¹ → int32, other number → double,
 * bigint → uint64 (uint128 above 2⁶⁴−1), array → array, object → map.
 */
export type MmdbValue = string | number | boolean | bigint | Buffer | MmdbTyped | MmdbValue[] | { [key: string]: MmdbValue };

/** Explicitly typed values: `mmdb.uint16(443)`, `mmdb.float(0.5)`, … */
export const mmdb = {
  utf8: (v: string) => new MmdbTyped('utf8', v),
  double: (v: number) => new MmdbTyped('double', v),
  float: (v: number) => new MmdbTyped('float', v),
  bytes: (v: Buffer) => new MmdbTyped('bytes', v),
  uint16: (v: number) => new MmdbTyped('uint16', v),
  uint32: (v: number) => new MmdbTyped('uint32', v),
  int32: (v: number) => new MmdbTyped('int32', v),
  uint64: (v: bigint | number) => new MmdbTyped('uint64', BigInt(v)),
  uint128: (v: bigint | number) => new MmdbTyped('uint128', BigInt(v)),
  boolean: (v: boolean) => new MmdbTyped('boolean', v),
};

/** Control byte(s): type (extended when > 7) and payload size (or entry count for map/array). */
export function controlBytes(type: number, size: number): Buffer {
  const out: number[] = [type <= 7 ? type << 5 : 0];
  if (type > 7) out.push(type - 7);
  if (size < 29) {
    out[0]! |= size;
  } else if (size < 29 + 256) {
    out[0]! |= 29;
    out.push(size - 29);
  } else if (size < 285 + 65536) {
    out[0]! |= 30;
    const v = size - 285;
    out.push(v >> 8, v & 0xff);
  } else if (size < 65821 + 2 ** 24) {
    out[0]! |= 31;
    const v = size - 65821;
    out.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  } else {
    throw new RangeError(`mmdb: size ${size} is too large for one field`);
  }
  return Buffer.from(out);
}

/** A pointer to `offset` in the data section, in the smallest of the four pointer sizes. */
export function pointerBytes(offset: number): Buffer {
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) throw new RangeError(`mmdb: bad pointer ${offset}`);
  if (offset < 2048) return Buffer.from([0x20 | (offset >> 8), offset & 0xff]);
  if (offset < 2048 + 2 ** 19) {
    const v = offset - 2048;
    return Buffer.from([0x20 | (1 << 3) | (v >> 16), (v >> 8) & 0xff, v & 0xff]);
  }
  if (offset < 526336 + 2 ** 27) {
    const v = offset - 526336;
    return Buffer.from([0x20 | (2 << 3) | (v >> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
  }
  const b = Buffer.alloc(5);
  b[0] = 0x20 | (3 << 3);
  b.writeUInt32BE(offset, 1);
  return b;
}

/** Big-endian bytes of a non-negative integer, without leading zeros (zero → no bytes). */
function unsignedBytes(value: bigint, maxBytes: number, type: string): Buffer {
  if (value < 0n || value >= 1n << BigInt(maxBytes * 8)) throw new RangeError(`mmdb: ${value} does not fit ${type}`);
  const out: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) out.unshift(Number(v & 0xffn));
  return Buffer.from(out);
}

function typed(v: MmdbValue): MmdbTyped | { type: 'map'; value: Record<string, MmdbValue> } | { type: 'array'; value: MmdbValue[] } {
  if (v instanceof MmdbTyped) return v;
  if (Buffer.isBuffer(v)) return new MmdbTyped('bytes', v);
  if (Array.isArray(v)) return { type: 'array', value: v };
  switch (typeof v) {
    case 'string': return new MmdbTyped('utf8', v);
    case 'boolean': return new MmdbTyped('boolean', v);
    case 'bigint': return new MmdbTyped(v < 1n << 64n ? 'uint64' : 'uint128', v);
    case 'number':
      if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return new MmdbTyped('uint32', v);
      if (Number.isInteger(v) && v < 0 && v >= -(2 ** 31)) return new MmdbTyped('int32', v);
      return new MmdbTyped('double', v);
    case 'object': return { type: 'map', value: v };
    default: throw new TypeError(`mmdb: cannot store ${typeof v}`);
  }
}

/** Encodes one scalar (non-container) value. */
function encodeScalar(t: MmdbTyped): Buffer {
  const { type, value } = t;
  switch (type) {
    case 'utf8': { const b = Buffer.from(String(value), 'utf8'); return Buffer.concat([controlBytes(MmdbType.utf8, b.length), b]); }
    case 'bytes': { const b = value as Buffer; return Buffer.concat([controlBytes(MmdbType.bytes, b.length), b]); }
    case 'double': { const b = Buffer.alloc(8); b.writeDoubleBE(Number(value)); return Buffer.concat([controlBytes(MmdbType.double, 8), b]); }
    case 'float': { const b = Buffer.alloc(4); b.writeFloatBE(Number(value)); return Buffer.concat([controlBytes(MmdbType.float, 4), b]); }
    case 'boolean': return controlBytes(MmdbType.boolean, value ? 1 : 0);
    case 'int32': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < -(2 ** 31) || n > 2 ** 31 - 1) throw new RangeError(`mmdb: ${n} does not fit int32`);
      // Negative values need all four bytes (the sign lives in the top bit).
      if (n < 0) { const b = Buffer.alloc(4); b.writeInt32BE(n); return Buffer.concat([controlBytes(MmdbType.int32, 4), b]); }
      const b = unsignedBytes(BigInt(n), 4, type);
      return Buffer.concat([controlBytes(MmdbType.int32, b.length), b]);
    }
    case 'uint16': case 'uint32': case 'uint64': case 'uint128': {
      const max = { uint16: 2, uint32: 4, uint64: 8, uint128: 16 }[type];
      if (typeof value === 'number' && !Number.isInteger(value)) throw new RangeError(`mmdb: ${value} is not an integer`);
      const b = unsignedBytes(BigInt(value as number | bigint), max, type);
      return Buffer.concat([controlBytes(MmdbType[type], b.length), b]);
    }
  }
}

/** A canonical key for deduplication: equal keys encode identically. */
function keyOf(v: MmdbValue): string {
  const t = typed(v);
  if (t.type === 'map') return `{${Object.entries(t.value).map(([k, x]) => `${JSON.stringify(k)}:${keyOf(x)}`).join(',')}}`;
  if (t.type === 'array') return `[${t.value.map(keyOf).join(',')}]`;
  const val = t.value;
  return `${t.type}:${Buffer.isBuffer(val) ? val.toString('base64') : typeof val === 'string' ? JSON.stringify(val) : String(val)}`;
}

/**
 * An append-only data section. With `pointers`, strings, maps and arrays already written are
 * referred to by pointer instead of being written again (as real MaxMind databases do).
 */
export class DataSection {
  private readonly chunks: Buffer[] = [];
  private readonly written = new Map<string, number>();
  private size = 0;

  constructor(private readonly pointers = true) {}

  /** Writes `value` (or finds it already written) and returns its offset in the section. */
  store(value: MmdbValue): number {
    const key = this.pointers ? keyOf(value) : undefined;
    const hit = key === undefined ? undefined : this.written.get(key);
    if (hit !== undefined) return hit;
    const bytes = this.encode(value);
    const offset = this.size;
    this.chunks.push(bytes);
    this.size += bytes.length;
    if (key !== undefined) this.written.set(key, offset);
    return offset;
  }

  /** The encoding of `value`, its children as pointers where worthwhile. */
  encode(value: MmdbValue): Buffer {
    const t = typed(value);
    if (t.type === 'map') {
      const parts: Buffer[] = [controlBytes(MmdbType.map, Object.keys(t.value).length)];
      for (const [k, v] of Object.entries(t.value)) parts.push(this.child(k), this.child(v));
      return Buffer.concat(parts);
    }
    if (t.type === 'array') return Buffer.concat([controlBytes(MmdbType.array, t.value.length), ...t.value.map((v) => this.child(v))]);
    return encodeScalar(t);
  }

  private child(value: MmdbValue): Buffer {
    if (!this.pointers) return this.encode(value);
    const t = typed(value);
    const shareable = t.type === 'map' || t.type === 'array' || (t.type === 'utf8' && Buffer.byteLength(String(t.value)) >= 3);
    if (!shareable) return this.encode(value);
    return pointerBytes(this.store(value));
  }

  get length(): number { return this.size; }

  toBuffer(): Buffer { return Buffer.concat(this.chunks); }
}
