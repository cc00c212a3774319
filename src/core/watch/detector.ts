/**
 * The watch detector: a streaming anomaly score in [0, 1] for one metric series, one point at a
 * time, never looking ahead.
 */
export const DETECTOR_NAME = 'opsDetector';

export interface DetectorOptions {
  /** How many points the series is expected to have (sets the learning and rest periods). */
  expectedLength: number;
  window?: number;
  restFraction?: number;
  fire?: number;
  zScale?: number;
  beyondWeight?: number;
  floor?: number;
}

/** Rolling median and MAD over the last `size` values, kept sorted for O(size) updates. */
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
    if (this.count === this.size) {
      const old = this.ring[this.next]!;
      this.sorted.splice(this.indexOf(old), 1);
    } else {
      this.count++;
    }
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
}

export class AnomalyDetector {
  private readonly window: RollingWindow;
  private readonly learning: number;
  private readonly rest: number;
  private readonly fire: number;
  private readonly zScale: number;
  private readonly beyondWeight: number;
  private readonly floor: number;
  private seen = 0;
  private sinceFired = Infinity;
  private min = Infinity;
  private max = -Infinity;

  constructor(options: DetectorOptions) {
    const probation = Math.min(Math.floor(0.15 * options.expectedLength), 750);
    this.learning = Math.max(10, probation);
    this.window = new RollingWindow(options.window ?? 2000);
    this.rest = Math.max(1, Math.round(probation * (options.restFraction ?? 0.2)));
    this.fire = options.fire ?? 0.8;
    this.zScale = options.zScale ?? 5;
    this.beyondWeight = options.beyondWeight ?? 50;
    this.floor = options.floor ?? 0.03;

  }

  score(_timestampMs: number, value: number): number {
    let raw = 0;
    if (this.seen >= 10) {
      const median = this.window.quantile(0.5);
      const q1 = this.window.quantile(0.25);
      const q3 = this.window.quantile(0.75);
      const spread = Math.max(q3 - q1, (this.max - this.min) * this.floor, 1e-9);
      const z = Math.abs(value - median) / spread;
      const range = this.max - this.min || 1;
      const beyond = Math.max(value - this.max, this.min - value, 0) / range;
      raw = Math.max(1 - Math.exp(-z / this.zScale), Math.min(1, beyond * this.beyondWeight));
    }
    this.seen++;
    this.window.push(value);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    // Quiet for `rest` points after any high raw score, fired or not: one alarm per episode.
    const resting = this.sinceFired <= this.rest;
    this.sinceFired = raw >= this.fire ? 0 : this.sinceFired + 1;
    if (this.seen <= this.learning || resting) return 0;
    return raw;
  }
}
