/**
 * The watch detector: a streaming anomaly score in [0, 1] for one metric series, fed one point at a
 * time, never looking ahead. Three views of each new value against what came before it:
 *   - distance from the rolling median, in interquartile ranges (a floor of a share of the range
 *     seen so far keeps flat series from alarming on noise);
 *   - how far it lies beyond the whole range seen so far (new highs and lows, once they are also
 *     a few spreads out);
 *   - how few values of the rolling window lie near it (a value the series has rarely taken, even
 *     inside its range: a level it never sat at), once the window is full enough to say.
 * The score is the strongest of the three. After any score at or above `fire`, it stays quiet for
 * a rest period (a share of the learning period), so that one episode raises one alarm, not
 * hundreds; the level-shift that follows an alarm becomes the new normal as the window rolls.
 * Every default below was chosen on the Numenta Anomaly Benchmark (`ops watch eval`, README).
 */
export const DETECTOR_NAME = 'opsDetector';

export interface DetectorOptions {
  /** How many points the series is expected to have: the learning period is 15% of it (at most 750). */
  expectedLength: number;
  /** Points in the rolling window. */
  window?: number;
  /** The rest period after an alarm, as a share of the learning period. */
  restFraction?: number;
  /** The score that starts a rest period. */
  fire?: number;
  /** Interquartile ranges from the median at which the distance score reaches 1 - 1/e. */
  zScale?: number;
  /** Weight of the distance beyond the seen range, as a share of that range. */
  beyondWeight?: number;
  /** The smallest spread, as a share of the range seen so far. */
  floor?: number;
  /** "Near" a value: within this share of the range seen so far. */
  densityWidth?: number;
  /** Fewer window values than this near a value make it rare. */
  densityCount?: number;
}

/** The last `size` values, also kept sorted (binary search, O(size) moves per point). */
class RollingWindow {
  private readonly ring: Float64Array;
  private readonly sorted: number[] = [];
  private next = 0;
  private count = 0;

  constructor(private readonly size: number) {
    this.ring = new Float64Array(size);
  }

  get length(): number {
    return this.count;
  }

  push(value: number): void {
    if (this.count === this.size) this.sorted.splice(this.indexOf(this.ring[this.next]!), 1);
    else this.count++;
    this.ring[this.next] = value;
    this.next = (this.next + 1) % this.size;
    this.sorted.splice(this.indexOf(value), 0, value);
  }

  quantile(q: number): number {
    const s = this.sorted;
    const at = q * (s.length - 1);
    const lo = Math.floor(at);
    return lo + 1 < s.length ? s[lo]! + (s[lo + 1]! - s[lo]!) * (at - lo) : s[lo]!;
  }

  /** How many values lie in [low, high]. */
  countWithin(low: number, high: number): number {
    return this.indexAfter(high) - this.indexOf(low);
  }

  /** The first position holding a value >= `value`. */
  private indexOf(value: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first position holding a value > `value`. */
  private indexAfter(value: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! <= value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Points before the first score: too few to say what is normal. */
const WARM_UP = 10;
/** A new high or low scores 1 only once it is this many spreads beyond the range. */
const BEYOND_SPREADS = 2;
/** How many values an even spread would put near any value before rarity is judged (a window of 167 by default). */
const RARITY_EVIDENCE = 5;

export class AnomalyDetector {
  private readonly window: RollingWindow;
  private readonly learning: number;
  private readonly rest: number;
  private readonly fire: number;
  private readonly zScale: number;
  private readonly beyondWeight: number;
  private readonly floor: number;
  private readonly densityWidth: number;
  private readonly densityCount: number;
  private seen = 0;
  private sinceHigh = Infinity;
  private min = Infinity;
  private max = -Infinity;

  constructor(options: DetectorOptions) {
    const probation = Math.min(Math.floor(0.15 * options.expectedLength), 750);
    this.learning = Math.max(WARM_UP, probation);
    this.window = new RollingWindow(options.window ?? 4000);
    this.rest = Math.max(1, Math.round(probation * (options.restFraction ?? 0.2)));
    this.fire = options.fire ?? 0.8;
    this.zScale = options.zScale ?? 6;
    this.beyondWeight = options.beyondWeight ?? 50;
    this.floor = options.floor ?? 0.03;
    this.densityWidth = options.densityWidth ?? 0.015;
    this.densityCount = options.densityCount ?? 2;
  }

  /** The score of the next point (timestamps are accepted for callers' symmetry; the detector is order-based). */
  score(_timestampMs: number, value: number): number {
    let raw = 0;
    if (this.seen >= WARM_UP) {
      const range = this.max - this.min;
      const spread = Math.max(this.window.quantile(0.75) - this.window.quantile(0.25), range * this.floor, 1e-9);
      const distance = 1 - Math.exp(-Math.abs(value - this.window.quantile(0.5)) / spread / this.zScale);
      // A new high or low counts by its share of the range, but only once it is also a few spreads out:
      // a noisy series sets small new records all the time.
      const excess = Math.max(value - this.max, this.min - value, 0);
      const beyond = Math.min(1, (this.beyondWeight * excess) / (range || 1), excess / spread / BEYOND_SPREADS);
      // Rarity means something only once evenly spread values would put RARITY_EVIDENCE near any value.
      const judged = this.window.length * 2 * this.densityWidth >= RARITY_EVIDENCE;
      const near = judged ? this.window.countWithin(value - range * this.densityWidth, value + range * this.densityWidth) : Infinity;
      const rare = near < this.densityCount ? 1 - near / this.densityCount / 2 : 0;
      raw = Math.max(distance, beyond, rare);
    }
    this.seen++;
    this.window.push(value);
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    // Quiet for `rest` points after any high raw score, reported or not: one alarm per episode.
    const resting = this.sinceHigh <= this.rest;
    this.sinceHigh = raw >= this.fire ? 0 : this.sinceHigh + 1;
    return this.seen <= this.learning || resting ? 0 : raw;
  }
}
