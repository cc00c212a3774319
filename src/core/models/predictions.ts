import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import { BadDataError, quote, UsageError } from '../../errors.js';
import type { ModelVersion, NewPrediction, PredictionValue } from '../../ledger/index.js';
import { parseModelRef, resolveVersion } from './refs.js';

const isScalar = (v: unknown): v is PredictionValue => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Each JSON object of a JSON Lines file with its line number; a bad line is one error naming it. */
async function* jsonLines(path: string, cwd: string, example: string): AsyncGenerator<{ line: number; value: Record<string, unknown> }> {
  const file = resolve(cwd, path);
  try {
    await access(file);
  } catch {
    throw new UsageError(`cannot read ${path}`, 'give a JSON Lines file, one JSON object per line');
  }
  const { createInterface } = await import('node:readline');
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BadDataError(`${path}:${line}: not JSON: ${(err as Error).message}`, `write one object per line, like ${example}`);
    }
    if (!isObject(value)) throw new BadDataError(`${path}:${line}: not a JSON object`, `write one object per line, like ${example}`);
    yield { line, value };
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
  read: number;
  logged: number;
  /** Lines whose id the model already had. */
  duplicates: number;
  versions: string[];
}

/**
 * Predictions made elsewhere, one JSON line each: `id` (optional, for delayed labels), `inputs`,
 * `prediction`, `at` (optional ISO time) and `model` (or --model). Every line is checked before
 * any is recorded.
 */
export async function logPredictions(ctx: Context, path: string, defaultModel: string | undefined): Promise<LogOutcome> {
  const versions = new Map<string, ModelVersion>();
  const versionOf = async (text: string) => {
    let version = versions.get(text);
    if (!version) versions.set(text, (version = await resolveVersion(ctx.ledger(), parseModelRef(text))));
    return version;
  };
  const rows: NewPrediction[] = [];
  const now = ctx.clock.now();
  for await (const { line, value } of jsonLines(path, ctx.cwd, LOG_EXAMPLE)) {
    const where = `${path}:${line}`;
    const ref = value.model ?? defaultModel;
    if (typeof ref !== 'string') throw new BadDataError(`${where}: no model: the line has no "model" and no --model was given`, 'pass --model churn@production, or put "model": "churn@3" on each line');
    const inputs = value.inputs;
    if (!isObject(inputs) || !Object.values(inputs).every(isScalar)) throw new BadDataError(`${where}: "inputs" must be an object of numbers, strings, booleans or nulls`, `e.g. ${LOG_EXAMPLE}`);
    if (!('prediction' in value) || !isScalar(value.prediction)) throw new BadDataError(`${where}: "prediction" must be a number, string or boolean`, `e.g. ${LOG_EXAMPLE}`);
    let atMs = now;
    if (value.at !== undefined) {
      atMs = typeof value.at === 'string' ? Date.parse(value.at) : NaN;
      if (!Number.isFinite(atMs)) throw new BadDataError(`${where}: "at" must be an ISO 8601 time`, 'e.g. "at": "2026-03-01T12:00:00Z", or leave it out for now');
    }
    const version = await versionOf(ref);
    rows.push({ model: version.model, version: version.version, externalId: id(value.id, where, LOG_EXAMPLE), inputs: inputs as Record<string, PredictionValue>, output: value.prediction, source: 'log', atMs });
  }
  const logged = await ctx.ledger().predictions.append(rows);
  return { read: rows.length, logged, duplicates: rows.length - logged, versions: [...new Set([...versions.values()].map((v) => `${v.model}@${v.version}`))] };
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
