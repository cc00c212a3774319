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

const BUFFER_FACTOR = 8;

export class TDigest {
  private means: Float64Array;
  private weights: Float64Array;
  // The merge writes into these and then swaps, so flushing allocates nothing.
  private spareMeans: Float64Array;
  private spareWeights: Float64Array;
  private size = 0;
  private readonly buffer: Float64Array;
  private buffered = 0;
  private total = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly compression = 200) {
    this.buffer = new Float64Array(Math.ceil(compression * BUFFER_FACTOR));
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
    this.mergeSorted(this.buffer.subarray(0, this.buffered).sort(), null);
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
