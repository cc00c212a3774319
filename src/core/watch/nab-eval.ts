import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../../errors.js';
import { AnomalyDetector, DETECTOR_NAME } from './detector.js';
import { nabScore, windowRows, type ProfileScore } from './nab.js';

/** One NAB data file: its timestamps (ms), values and labelled windows. */
export interface NabSeries {
  /** "realKnownCause/nyc_taxi.csv", as in NAB's labels. */
  name: string;
  timestampText: string[];
  timestamps: Float64Array;
  values: Float64Array;
  windows: Array<[number, number]>;
}

/** NAB's timestamps are UTC without a zone: "2014-07-01 00:00:00". */
const parseTimestamp = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

/** Parse a `timestamp,value` CSV (NAB's layout) into typed arrays. */
export function parseSeries(text: string, name: string): Omit<NabSeries, 'windows'> {
  const lines = text.split('\n');
  const n = lines.length;
  const timestampText: string[] = [];
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  let rows = 0;
  for (let i = 1; i < n; i++) {
    const line = lines[i]!;
    const comma = line.indexOf(',');
    if (comma < 0) continue;
    const stamp = line.slice(0, comma);
    const at = parseTimestamp(stamp);
    const value = Number(line.slice(comma + 1));
    if (Number.isNaN(at) || Number.isNaN(value)) throw new UsageError(`${name} line ${i + 1} is not "timestamp,value": ${line.slice(0, 60)}`, 'give the NAB folder (with data/ and labels/)');
    timestampText.push(stamp);
    timestamps[rows] = at;
    values[rows] = value;
    rows++;
  }
  return { name, timestampText, timestamps: timestamps.slice(0, rows), values: values.slice(0, rows) };
}

/** Every series of a NAB checkout (data/<category>/<file>.csv) with its windows from labels/combined_windows.json. */
export async function readNab(dir: string): Promise<NabSeries[]> {
  let labels: Record<string, Array<[string, string]>>;
  try {
    labels = JSON.parse(await readFile(join(dir, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  } catch (err) {
    const file = join(dir, 'labels', 'combined_windows.json');
    const problem = (err as { code?: string }).code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file}: ${(err as Error).message}`;
    throw new UsageError(problem, 'give the NAB folder, which holds data/ and labels/');
  }
  const series: NabSeries[] = [];
  for (const name of Object.keys(labels).sort()) {
    let text: string;
    try {
      text = await readFile(join(dir, 'data', name), 'utf8');
    } catch {
      throw new UsageError(`${join(dir, 'data', name)} is missing but labelled`, 'give a complete NAB folder');
    }
    const parsed = parseSeries(text, name);
    series.push({ ...parsed, windows: windowRows(parsed.timestamps, labels[name]!) });
  }
  if (series.length === 0) throw new UsageError(`no labelled series in ${dir}`, 'give the NAB folder, which holds data/ and labels/');
  return series;
}

/** The detector's score for every row, fed one point at a time (no look-ahead). */
export function detect(series: Pick<NabSeries, 'timestamps' | 'values'>): Float64Array {
  const detector = new AnomalyDetector({ expectedLength: series.values.length });
  const scores = new Float64Array(series.values.length);
  for (let i = 0; i < scores.length; i++) scores[i] = detector.score(series.timestamps[i]!, series.values[i]!);
  return scores;
}

export interface NabEvaluation {
  detector: string;
  files: number;
  points: number;
  profiles: ProfileScore[];
  detectMs: number;
}

/** Run the detector over every series and score it; with `outDir`, write NAB's results layout. */
export async function evaluateNab(dir: string, outDir?: string): Promise<NabEvaluation> {
  const series = await readNab(dir);
  const started = performance.now();
  const scored = series.map((s) => ({ series: s, scores: detect(s) }));
  const detectMs = performance.now() - started;
  if (outDir) await writeResults(outDir, scored);
  return {
    detector: DETECTOR_NAME,
    files: series.length,
    points: series.reduce((sum, s) => sum + s.values.length, 0),
    profiles: nabScore(scored.map(({ series: s, scores }) => ({ scores, windows: s.windows }))),
    detectMs,
  };
}

/** `<out>/<detector>/<category>/<detector>_<file>.csv` with timestamp,value,anomaly_score,label. */
async function writeResults(outDir: string, scored: Array<{ series: NabSeries; scores: Float64Array }>): Promise<void> {
  for (const { series, scores } of scored) {
    const file = join(outDir, DETECTOR_NAME, dirname(series.name), `${DETECTOR_NAME}_${basename(series.name)}`);
    await mkdir(dirname(file), { recursive: true });
    const inWindow = new Uint8Array(scores.length);
    for (const [first, last] of series.windows) inWindow.fill(1, first, last + 1);
    const lines = ['timestamp,value,anomaly_score,label'];
    for (let i = 0; i < scores.length; i++) lines.push(`${series.timestampText[i]},${series.values[i]},${scores[i]},${inWindow[i]}`);
    await writeFile(file, `${lines.join('\n')}\n`);
  }
}
