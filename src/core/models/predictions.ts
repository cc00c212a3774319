import { createReadStream } from 'node:fs';
import { access, open, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import { BadDataError, OpsError, quote, UsageError } from '../../errors.js';
import type { ModelVersion, NewPrediction, PredictionValue } from '../../ledger/index.js';
import { parseModelRef, resolveVersion } from './refs.js';

const isScalar = (v: unknown): v is PredictionValue => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Each line of a file from byte `start`, with the offset just past it; the last one may lack its newline. */
async function* linesFrom(file: string, start: number): AsyncGenerator<{ text: string; end: number; terminated: boolean }> {
  let pending: Buffer = Buffer.alloc(0);
  let position = start;
  for await (const chunk of createReadStream(file, { start })) {
    pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    let from = 0;
    for (let nl = pending.indexOf(10, from); nl >= 0; nl = pending.indexOf(10, from)) {
      const line = pending.subarray(from, nl > from && pending[nl - 1] === 13 ? nl - 1 : nl);
      position += nl + 1 - from;
      from = nl + 1;
      yield { text: line.toString('utf8'), end: position, terminated: true };
    }
    pending = pending.subarray(from);
  }
  if (pending.length) yield { text: pending.toString('utf8'), end: position + pending.length, terminated: false };
}

/**
 * Each JSON object of a JSON Lines file from byte `start` (line numbers counted on from
 * `linesBefore`), with the offset just past it; a bad line is one error naming it. A last line
 * without its newline that is not JSON yet is being written: it is left for the next read.
 */
async function* jsonLines(path: string, cwd: string, example: string, start = 0, linesBefore = 0): AsyncGenerator<{ line: number; value: Record<string, unknown> | null; end: number }> {
  const file = resolve(cwd, path);
  try {
    await access(file);
  } catch {
    throw new UsageError(`cannot read ${path}`, 'give a JSON Lines file, one JSON object per line');
  }
  let line = linesBefore;
  for await (const { text, end, terminated } of linesFrom(file, start)) {
    line++;
    if (!text.trim()) {
      yield { line, value: null, end };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (!terminated) return;
      throw new BadDataError(`${path}:${line}: not JSON: ${(err as Error).message}`, `write one object per line, like ${example}`);
    }
    if (!isObject(value)) throw new BadDataError(`${path}:${line}: not a JSON object`, `write one object per line, like ${example}`);
    yield { line, value, end };
  }
}

/** sha256 of a file's first min(length, 4096) bytes: whether the file read before is still the same file. */
async function headDigest(file: string, length: number): Promise<string> {
  const { createHash } = await import('node:crypto');
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(length, 4096));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('hex');
  } finally {
    await handle.close();
  }
}

const LOG_EXAMPLE = '{"id": "c-17", "inputs": {"tenure": 3, "tickets": 5}, "prediction": "yes"}';

function id(value: unknown, where: string, example: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new BadDataError(`${where}: "id" must be a string or a number`, `e.g. ${example}`);
}

export interface LogOutcome {
  /** The line this run started at: 1, or just past what an earlier run of the same file read. */
  fromLine: number;
  read: number;
  logged: number;
  /** Lines whose id the model already had. */
  duplicates: number;
  versions: string[];
}

/**
 * Predictions made elsewhere, one JSON line each: `id` (optional, for delayed labels), `inputs`,
 * `prediction`, `at` (optional ISO time) and `model` (or --model). Every line is checked before
 * any is recorded. The file is read as append-only: a rerun starts where the last one stopped
 * (from the start again when the file was replaced or truncated), and the new lines and the new
 * position are recorded in one transaction.
 */
/** Reads one prediction per JSON object: the version it names (resolved once per reference) and its fields checked. */
function predictionReader(ctx: Context, defaultModel: string | undefined, noModelHint: string) {
  const versions = new Map<string, ModelVersion>();
  const now = ctx.clock.now();
  return {
    versions: () => [...new Set([...versions.values()].map((v) => `${v.model}@${v.version}`))],
    async read(value: Record<string, unknown>, where: string): Promise<NewPrediction> {
      const ref = value.model ?? defaultModel;
      if (typeof ref !== 'string') throw new BadDataError(`${where}: no model: the line has no "model"${defaultModel === undefined ? ' and no --model was given' : ''}`, noModelHint);
      const inputs = value.inputs;
      if (!isObject(inputs) || !Object.values(inputs).every(isScalar)) throw new BadDataError(`${where}: "inputs" must be an object of numbers, strings, booleans or nulls`, `e.g. ${LOG_EXAMPLE}`);
      if (!('prediction' in value) || !isScalar(value.prediction)) throw new BadDataError(`${where}: "prediction" must be a number, string or boolean`, `e.g. ${LOG_EXAMPLE}`);
      let atMs = now;
      if (value.at !== undefined) {
        atMs = typeof value.at === 'string' ? Date.parse(value.at) : NaN;
        if (!Number.isFinite(atMs)) throw new BadDataError(`${where}: "at" must be an ISO 8601 time`, 'e.g. "at": "2026-03-01T12:00:00Z", or leave it out for now');
      }
      let version = versions.get(ref);
      if (!version) versions.set(ref, (version = await resolveVersion(ctx.ledger(), parseModelRef(ref))));
      return { model: version.model, version: version.version, externalId: id(value.id, where, LOG_EXAMPLE), inputs: inputs as Record<string, PredictionValue>, output: value.prediction, source: 'log', atMs };
    },
  };
}

export async function logPredictions(ctx: Context, path: string, defaultModel: string | undefined): Promise<LogOutcome> {
  const reader = predictionReader(ctx, defaultModel, 'pass --model churn@production, or put "model": "churn@3" on each line');
  const rows: NewPrediction[] = [];
  const now = ctx.clock.now();
  const ledger = ctx.ledger();
  let file = resolve(ctx.cwd, path);
  file = await realpath(file).catch(() => file);
  const mark = await ledger.predictions.fileMark(file);
  const size = (await stat(file).catch(() => null))?.size ?? 0;
  const resume = mark && mark.offset <= size && (await headDigest(file, mark.offset)) === mark.head ? mark : null;
  let end = resume?.offset ?? 0;
  let lines = resume?.lines ?? 0;
  for await (const { line, value, end: after } of jsonLines(path, ctx.cwd, LOG_EXAMPLE, end, lines)) {
    end = after;
    lines = line;
    if (value) rows.push(await reader.read(value, `${path}:${line}`));
  }
  const head = await headDigest(file, end);
  const logged = await ledger.transaction(async () => {
    const added = await ledger.predictions.append(rows);
    await ledger.predictions.setFileMark(file, { offset: end, lines, head }, now);
    return added;
  });
  return { fromLine: (resume?.lines ?? 0) + 1, read: rows.length, logged, duplicates: rows.length - logged, versions: reader.versions() };
}

/**
 * The HTTP intake of `ops watch --listen` (POST to watch.listen.predictions): JSON Lines, a JSON
 * array, or one object, each prediction as `ops model log` reads it, with its "model". All are
 * checked before any is recorded; a bad one is a 400 naming it.
 */
export async function receivePredictions(ctx: Context, body: Buffer): Promise<{ status: number; body: unknown }> {
  const text = body.toString('utf8');
  let values: unknown[];
  try {
    const whole = JSON.parse(text) as unknown;
    values = Array.isArray(whole) ? whole : [whole];
  } catch {
    values = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        return { status: 400, body: { error: `line ${i + 1} is not JSON`, hint: `send one object per line, like ${LOG_EXAMPLE}` } };
      }
    }
  }
  const reader = predictionReader(ctx, undefined, 'put "model": "churn@production" on each prediction');
  const rows: NewPrediction[] = [];
  try {
    for (const [i, value] of values.entries()) {
      if (!isObject(value)) throw new BadDataError(`prediction ${i + 1}: not a JSON object`, `e.g. ${LOG_EXAMPLE}`);
      rows.push(await reader.read(value, `prediction ${i + 1}`));
    }
  } catch (err) {
    if (!(err instanceof OpsError)) throw err;
    return { status: 400, body: { error: err.message, hint: err.hint ?? null } };
  }
  const logged = await ctx.ledger().predictions.append(rows);
  return { status: 200, body: { received: rows.length, logged, duplicates: rows.length - logged, versions: reader.versions() } };
}

const LABEL_EXAMPLE = '{"id": "c-17", "label": "no"}';

export interface LabelOutcome {
  read: number;
  labelled: number;
  /** Ids no logged prediction has (the first 20). */
  unknown: string[];
  unknownCount: number;
}

/** Delayed labels, one JSON line each: `id` and `label` (and `model`, or --model, to pick among models). */
export async function labelPredictions(ctx: Context, path: string, model: string | undefined): Promise<LabelOutcome> {
  const labels: Array<{ id: string; label: PredictionValue; model: string | null }> = [];
  for await (const { line, value } of jsonLines(path, ctx.cwd, LABEL_EXAMPLE)) {
    if (!value) continue;
    const where = `${path}:${line}`;
    const key = id(value.id, where, LABEL_EXAMPLE);
    if (key === null) throw new BadDataError(`${where}: no "id": a label finds its prediction by id`, `e.g. ${LABEL_EXAMPLE}`);
    if (!('label' in value) || !isScalar(value.label) || value.label === null) throw new BadDataError(`${where}: "label" must be a number, string or boolean`, `e.g. ${LABEL_EXAMPLE}`);
    const owner = value.model ?? model ?? null;
    if (owner !== null && typeof owner !== 'string') throw new BadDataError(`${where}: "model" must be a model name`, `e.g. ${LABEL_EXAMPLE}`);
    labels.push({ id: key, label: value.label, model: owner === null ? null : parseModelRef(owner).name });
  }
  const { labelled, unknown } = await ctx.ledger().predictions.label(labels, ctx.clock.now());
  if (unknown.length > 0) ctx.output.warn(`${unknown.length} label${unknown.length === 1 ? '' : 's'} matched no logged prediction (first: ${quote(unknown[0])})`);
  return { read: labels.length, labelled, unknown: unknown.slice(0, 20), unknownCount: unknown.length };
}
