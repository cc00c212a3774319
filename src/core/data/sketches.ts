/**
 * Mergeable sketches with memory bounded by their parameters, not by the data: a merging t-digest
 * for quantiles and CDFs (Dunning & Ertl, "Computing extremely accurate quantiles using
 * t-digests", 2019) and HyperLogLog for distinct counts (Flajolet et al. 2007, with linear
 * counting for small cardinalities). Written here because npm's `tdigest` keeps centroids in a
 * red-black tree (one tree insert per value) and the HyperLogLog packages are unmaintained.
 */

/** A centroid list, sorted by mean: what a profile stores. */
export interface SerializedDigest {
  compression: number;
  min: number;
  max: number;
  /** Centroid means and weights, interleaved: [mean0, weight0, mean1, weight1, ...]. */
  centroids: number[];
}

const BUFFER_FACTOR = 20;

export class TDigest {
  private means: Float64Array;
  private weights: Float64Array;
  // The merge writes into these and then swaps, so flushing allocates nothing.
  private spareMeans: Float64Array;
  private spareWeights: Float64Array;
  private size = 0;
  private readonly buffer: Float64Array;
  private readonly scratch: Float64Array;
  private buffered = 0;
  private total = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly compression = 200) {
    this.buffer = new Float64Array(Math.ceil(compression * BUFFER_FACTOR));
    this.scratch = new Float64Array(this.buffer.length);
    // The k1 scale function keeps the centroid count near compression; room for it plus one buffer.
    const capacity = Math.ceil(compression * 2) + this.buffer.length;
    this.means = new Float64Array(capacity);
    this.weights = new Float64Array(capacity);
    this.spareMeans = new Float64Array(capacity);
    this.spareWeights = new Float64Array(capacity);
  }

  get count(): number {
    return this.total + this.buffered;
  }

  add(value: number): void {
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.buffer[this.buffered++] = value;
    if (this.buffered === this.buffer.length) this.flush();
  }

  /** Fold the buffered values into the centroids: sort them, then merge both sorted lists. */
  private flush(): void {
    if (this.buffered === 0) return;
    const values = this.buffer.subarray(0, this.buffered);
    radixSort(values, this.scratch);
    this.mergeSorted(values, null);
    this.buffered = 0;
  }

  /** Merge sorted values (weight 1 each, or `weights`) with the centroids under the k1 size bound. */
  private mergeSorted(values: Float64Array, weights: Float64Array | null): void {
    const n = values.length;
    if (this.spareMeans.length < this.size + n) {
      this.spareMeans = new Float64Array(this.size + n);
      this.spareWeights = new Float64Array(this.size + n);
    }
    const { means, weights: oldWeights, size } = this;
    const outMeans = this.spareMeans;
    const outWeights = this.spareWeights;
    let added = n;
    if (weights) {
      added = 0;
      for (let i = 0; i < n; i++) added += weights[i]!;
    }
    const total = this.total + added;
    const scale = this.compression / (2 * Math.PI);
    const kMax = this.compression / 4;
    let i = 0;
    let j = 0;
    let out = -1;
    let soFar = 0;
    let limit = 0;
    while (i < size || j < n) {
      let mean: number;
      let weight: number;
      if (j >= n || (i < size && means[i]! <= values[j]!)) {
        mean = means[i]!;
        weight = oldWeights[i]!;
        i++;
      } else {
        mean = values[j]!;
        weight = weights ? weights[j]! : 1;
        j++;
      }
      if (out >= 0 && soFar + weight <= limit) {
        const merged = outWeights[out]! + weight;
        outMeans[out] = outMeans[out]! + ((mean - outMeans[out]!) * weight) / merged;
        outWeights[out] = merged;
        soFar += weight;
      } else {
        // A new centroid may grow until k1(q) = compression / (2 pi) * asin(2q - 1) rises by one from its left edge.
        out++;
        outMeans[out] = mean;
        outWeights[out] = weight;
        const kLimit = scale * Math.asin(Math.min(1, Math.max(-1, (2 * soFar) / total - 1))) + 1;
        soFar += weight;
        limit = kLimit >= kMax ? total : (total * (Math.sin(kLimit / scale) + 1)) / 2;
      }
    }
    this.spareMeans = means;
    this.spareWeights = oldWeights;
    this.means = outMeans;
    this.weights = outWeights;
    this.size = out + 1;
    this.total = total;
  }

  /** Add another digest's centroids to this one. */
  merge(other: TDigest | SerializedDigest): void {
    const digest = other instanceof TDigest ? other.toJSON() : other;
    this.flush();
    const n = digest.centroids.length / 2;
    if (n === 0) return;
    const values = new Float64Array(n);
    const weights = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      values[c] = digest.centroids[2 * c]!;
      weights[c] = digest.centroids[2 * c + 1]!;
    }
    this.mergeSorted(values, weights);
    this.min = Math.min(this.min, digest.min);
    this.max = Math.max(this.max, digest.max);
  }

  toJSON(): SerializedDigest {
    this.flush();
    const centroids: number[] = [];
    for (let c = 0; c < this.size; c++) centroids.push(this.means[c]!, this.weights[c]!);
    return { compression: this.compression, min: this.min, max: this.max, centroids };
  }

  static fromJSON(digest: SerializedDigest): TDigest {
    const t = new TDigest(digest.compression);
    t.merge(digest);
    return t;
  }
}

const digitCounts = new Int32Array(8 * 256);

/**
 * Sort doubles ascending by their bits: a least-significant-digit radix sort over eight bytes,
 * skipping the bytes every value shares (a column's values mostly share sign and exponent). V8's
 * TypedArray#sort took about 1.8 times as long on buffers like the digest's (4,000 doubles).
 */
export function radixSort(values: Float64Array, scratch: Float64Array): void {
  const n = values.length;
  if (n < 2) return;
  let from = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let to = new Uint32Array(scratch.buffer, scratch.byteOffset, 2 * n);
  const counts = digitCounts;
  counts.fill(0);
  // Order-preserving keys: flip every bit of a negative number, only the sign bit of a positive one.
  for (let i = 0; i < n; i++) {
    const hi = from[2 * i + 1]!;
    let lo = from[2 * i]!;
    let key = hi;
    if (hi & 0x80000000) {
      key = ~hi >>> 0;
      lo = ~lo >>> 0;
      from[2 * i] = lo;
    } else key = (hi | 0x80000000) >>> 0;
    from[2 * i + 1] = key;
    counts[lo & 255]!++;
    counts[256 + ((lo >>> 8) & 255)]!++;
    counts[512 + ((lo >>> 16) & 255)]!++;
    counts[768 + (lo >>> 24)]!++;
    counts[1024 + (key & 255)]!++;
    counts[1280 + ((key >>> 8) & 255)]!++;
    counts[1536 + ((key >>> 16) & 255)]!++;
    counts[1792 + (key >>> 24)]!++;
  }
  for (let pass = 0; pass < 8; pass++) {
    const base = pass * 256;
    const word = pass >> 2;
    const shift = (pass & 3) * 8;
    // Every value has the same byte here: nothing to move.
    if (counts[base + ((from[word]! >>> shift) & 255)] === n) continue;
    let sum = 0;
    for (let k = 0; k < 256; k++) {
      const c = counts[base + k]!;
      counts[base + k] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = counts[base + ((from[2 * i + word]! >>> shift) & 255)]!++;
      to[2 * at] = from[2 * i]!;
      to[2 * at + 1] = from[2 * i + 1]!;
    }
    const swap = from;
    from = to;
    to = swap;
  }
  const out = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) {
    const key = from[2 * i + 1]!;
    const lo = from[2 * i]!;
    if (key & 0x80000000) {
      out[2 * i + 1] = key & 0x7fffffff;
      out[2 * i] = lo;
    } else {
      out[2 * i + 1] = ~key >>> 0;
      out[2 * i] = ~lo >>> 0;
    }
  }
}

/**
 * Read-only queries over a serialized digest: quantiles and the CDF, interpolating between
 * centroid means as Dunning's MergingDigest does, with the exact min and max at the ends.
 */
export class DigestView {
  readonly means: Float64Array;
  readonly weights: Float64Array;
  /** Cumulative weight up to each centroid's middle. */
  private readonly mids: Float64Array;
  readonly total: number;

  constructor(readonly digest: SerializedDigest) {
    const n = digest.centroids.length / 2;
    this.means = new Float64Array(n);
    this.weights = new Float64Array(n);
    this.mids = new Float64Array(n);
    let total = 0;
    for (let c = 0; c < n; c++) {
      this.means[c] = digest.centroids[2 * c]!;
      this.weights[c] = digest.centroids[2 * c + 1]!;
      this.mids[c] = total + this.weights[c]! / 2;
      total += this.weights[c]!;
    }
    this.total = total;
  }

  quantile(q: number): number {
    const n = this.means.length;
    if (n === 0) return NaN;
    if (n === 1 || q <= 0) return q <= 0 ? this.digest.min : this.means[0]!;
    if (q >= 1) return this.digest.max;
    const index = q * this.total;
    if (index < this.weights[0]! / 2) {
      // Between the minimum and the first centroid's middle (a single value sits at the minimum).
      if (this.weights[0]! === 1) return this.digest.min;
      return this.digest.min + ((this.means[0]! - this.digest.min) * index) / (this.weights[0]! / 2);
    }
    const last = n - 1;
    if (index > this.total - this.weights[last]! / 2) {
      if (this.weights[last]! === 1) return this.digest.max;
      const fromEnd = this.total - index;
      return this.digest.max - ((this.digest.max - this.means[last]!) * fromEnd) / (this.weights[last]! / 2);
    }
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.mids[mid]! <= index) lo = mid;
      else hi = mid;
    }
    const span = this.mids[hi]! - this.mids[lo]!;
    return span <= 0 ? this.means[lo]! : this.means[lo]! + ((this.means[hi]! - this.means[lo]!) * (index - this.mids[lo]!)) / span;
  }

  /** The share of values at or below x (ties at a centroid count half, as a mid-rank). */
  cdf(x: number): number {
    const n = this.means.length;
    if (n === 0 || this.total === 0) return NaN;
    if (x < this.digest.min) return 0;
    if (x >= this.digest.max) return 1;
    if (x < this.means[0]!) {
      const span = this.means[0]! - this.digest.min;
      return span <= 0 ? 0 : ((x - this.digest.min) / span) * (this.weights[0]! / 2) / this.total;
    }
    const last = n - 1;
    if (x >= this.means[last]!) {
      const span = this.digest.max - this.means[last]!;
      const tail = this.weights[last]! / 2;
      return span <= 0 ? 1 : (this.total - tail + ((x - this.means[last]!) / span) * tail) / this.total;
    }
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.means[mid]! <= x) lo = mid;
      else hi = mid;
    }
    const span = this.means[hi]! - this.means[lo]!;
    const at = span <= 0 ? this.mids[hi]! : this.mids[lo]! + ((this.mids[hi]! - this.mids[lo]!) * (x - this.means[lo]!)) / span;
    return at / this.total;
  }
}

// Hashing: murmur3's 32-bit finalizer over the value's bits, two independent words per value.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Two 32-bit hashes of a number's IEEE-754 bits (-0 and 0 hash alike). */
export function hashNumber(value: number, out: Uint32Array): void {
  f64[0] = value === 0 ? 0 : value;
  const lo = u32[0]!;
  const hi = u32[1]!;
  out[0] = fmix(Math.imul(lo, 0xcc9e2d51) ^ fmix(hi ^ 0x9747b28c));
  out[1] = fmix(Math.imul(hi, 0x1b873593) ^ fmix(lo ^ 0x5bd1e995));
}

/** Two 32-bit hashes of a string's UTF-16 code units (FNV-1a style mixing, murmur3 finalizer). */
export function hashString(value: string, out: Uint32Array): void {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  out[0] = fmix(a);
  out[1] = fmix(b ^ 0x27d4eb2f);
}

/**
 * Exact counts of numbers in an open-addressing table of fixed size (a Map of numbers costs about
 * twice as much per value); refuses new keys once `limit` are held.
 */
export class NumberCounter {
  private readonly keys: Float64Array;
  private readonly counts: Int32Array;
  private readonly mask: number;
  size = 0;

  constructor(limit: number) {
    let capacity = 16;
    while (capacity < limit * 2) capacity *= 2;
    this.keys = new Float64Array(capacity);
    this.counts = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  /** Count one more `value`; false when it is new and there is no room (then nothing changed). */
  add(value: number, mayInsert: boolean): boolean {
    f64[0] = value === 0 ? 0 : value;
    let h = Math.imul(u32[0]! ^ Math.imul(u32[1]!, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    const { keys, counts, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const c = counts[i]!;
      if (c === 0) {
        if (!mayInsert) return false;
        keys[i] = f64[0]!;
        counts[i] = 1;
        this.size++;
        return true;
      }
      if (keys[i] === value) {
        counts[i] = c + 1;
        return true;
      }
    }
  }

  *entries(): Generator<[number, number]> {
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) yield [this.keys[i]!, this.counts[i]!];
  }
}

export interface SerializedHll {
  precision: number;
  /** The registers, base64. */
  registers: string;
}

/** HyperLogLog with 2^precision one-byte registers (precision 14: 16 KiB, about 0.8% standard error). */
export class HyperLogLog {
  readonly registers: Uint8Array;
  private readonly shift: number;

  constructor(readonly precision = 14) {
    this.registers = new Uint8Array(1 << precision);
    this.shift = 32 - precision;
  }

  /** Add a value by its two hash words: the first picks the register, the second gives the rank. */
  addHash(h1: number, h2: number): void {
    const index = h1 >>> this.shift;
    const rank = h2 === 0 ? 33 : Math.clz32(h2) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  merge(other: HyperLogLog): void {
    if (other.precision !== this.precision) throw new Error('cannot merge HyperLogLogs of different precision');
    for (let i = 0; i < this.registers.length; i++) if (other.registers[i]! > this.registers[i]!) this.registers[i] = other.registers[i]!;
  }

  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      const r = this.registers[i]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    // Linear counting is the better estimate while many registers are still empty.
    if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(raw);
  }

  toJSON(): SerializedHll {
    return { precision: this.precision, registers: Buffer.from(this.registers).toString('base64') };
  }

  static fromJSON(value: SerializedHll): HyperLogLog {
    const hll = new HyperLogLog(value.precision);
    hll.registers.set(Buffer.from(value.registers, 'base64'));
    return hll;
  }
}
