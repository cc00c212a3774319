import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { ZodIssue } from 'zod';
import { ConfigError, quote } from '../../errors.js';
import { configCache } from './cache.js';
import type { OpsConfig } from './schema.js';

// The schema (zod) and the YAML parsers load only when there is a config file to read.
type SchemaModule = typeof import('./schema.js');
let schemaModule: SchemaModule | undefined;
const configSchema = () => schemaModule!.configSchema;

export interface LoadedConfig {
  /** Validated configuration, or null when no project config exists. */
  config: OpsConfig | null;
  /** Folder holding the project config (the cwd when there is none). */
  root: string;
  /** Files that were merged, project file first. */
  files: string[];
}

export interface LoadOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** --config: this file and no search. */
  configFile?: string;
}

export const PROJECT_CONFIG_NAMES = ['ops.config.yaml', 'ops.config.yml', '.opsrc', '.opsrc.yaml', '.opsrc.yml', '.opsrc.json', 'package.json'];

export function userConfigPath(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'ops', 'config.yaml');
}

type Raw = Record<string, unknown>;

let jsYaml: typeof import('js-yaml') | undefined;

function parseYamlFile(file: string): Raw | null {
  const text = readFileSync(file, 'utf8');
  let data: unknown;
  try {
    data = jsYaml!.load(text, { filename: file });
  } catch (err) {
    const { mark, reason } = err as { mark?: { line: number; column: number }; reason?: string };
    const where = mark ? `${file}:${mark.line + 1}:${mark.column + 1}` : file;
    throw new ConfigError(`${where}: invalid YAML: ${reason ?? (err as Error).message}`, 'fix the syntax and rerun');
  }
  if (data == null) return null;
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${file}: expected a mapping of keys at the top level, found ${describe(data)}`, 'see ops.config.example.yaml');
  }
  return data as Raw;
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(`${file}: invalid JSON: ${(err as Error).message}`, 'fix the syntax and rerun');
  }
}

function readConfigFile(file: string): Raw | null {
  if (!file.endsWith('.json')) return parseYamlFile(file);
  const data = parseJson(file, readFileSync(file, 'utf8')) as Raw;
  return basename(file) === 'package.json' ? ((data.ops as Raw | undefined) ?? null) : data;
}

/**
 * Walk up from `cwd` to the filesystem root; the first folder with a config file is the project
 * root (a package.json counts only with an "ops" key). This is cosmiconfig's search, written out:
 * importing cosmiconfig cost ~6 ms at every start (bench/), a tenth of the start-up budget.
 */
function findProjectConfig(cwd: string, env: NodeJS.ProcessEnv): string | null {
  const userDir = dirname(userConfigPath(env));
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    // The user config folder holds the user file, which is merged, never the project's.
    if (dir !== userDir) {
      for (const name of PROJECT_CONFIG_NAMES) {
        const file = join(dir, name);
        if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
        if (name !== 'package.json') return file;
        const data = parseJson(file, readFileSync(file, 'utf8')) as Raw | null;
        if (isPlainObject(data) && data.ops !== undefined) return file;
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

function isPlainObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of mappings; arrays and scalars from `over` replace those of `under`. */
export function mergeConfig(under: Raw, over: Raw): Raw {
  const out: Raw = { ...under };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeConfig(out[key] as Raw, value) : value;
  }
  return out;
}

/** Environment variables that are not configuration keys. */
const NON_CONFIG_ENV = new Set(['OPS_RUN_ID', 'OPS_ARTIFACT_DIR']);

function parseEnvValue(text: string): unknown {
  try {
    return jsYaml!.load(text);
  } catch {
    return text;
  }
}

/** A config key set by an environment variable: what a validation error about it must name. */
export interface EnvOverride {
  name: string;
  path: string[];
}

/**
 * OPS_<KEY>[__<KEY>...]=value sets a config key; each segment matches a key case-insensitively
 * (OPS_RISK__BLOCK=0.9 sets risk.block; OPS_LEDGER sets ledger). Returns the merged config and
 * which variable set which key.
 */
export function applyEnvOverrides(config: Raw, env: NodeJS.ProcessEnv): { config: Raw; overrides: EnvOverride[] } {
  let out = config;
  const overrides: EnvOverride[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('OPS_') || NON_CONFIG_ENV.has(name) || value === undefined) continue;
    const segments = name.slice(4).split('__');
    const path = resolveEnvPath(out, segments);
    if (!path) continue;
    const patch: Raw = {};
    let cursor = patch;
    path.forEach((key, i) => {
      if (i === path.length - 1) cursor[key] = parseEnvValue(value);
      else cursor = cursor[key] = {} as Raw;
    });
    out = mergeConfig(out, patch);
    overrides.push({ name, path });
  }
  return { config: out, overrides };
}

/** The variable that set the key at `path` (or a mapping holding it): the longest matching prefix wins. */
function overrideOf(overrides: EnvOverride[], path: ReadonlyArray<PropertyKey>): EnvOverride | undefined {
  return overrides
    .filter((o) => o.path.length <= path.length && o.path.every((key, i) => key === String(path[i])))
    .sort((a, b) => b.path.length - a.path.length)[0];
}

function resolveEnvPath(config: Raw, segments: string[]): string[] | null {
  const path: string[] = [];
  let schema: unknown = configSchema();
  let data: unknown = config;
  for (const segment of segments) {
    const keys = new Set([...knownKeys(schema, data), ...(isPlainObject(data) ? Object.keys(data) : [])]);
    const key = [...keys].find((k) => k.toLowerCase() === segment.toLowerCase().replace(/_/g, ''))
      ?? [...keys].find((k) => k.toLowerCase() === segment.toLowerCase());
    if (!key) return null;
    path.push(key);
    schema = childSchema(schema, key, data);
    data = isPlainObject(data) ? data[key] : undefined;
  }
  return path.length ? path : null;
}

interface ZodDefLike {
  typeName: string;
  shape?: () => Record<string, unknown>;
  innerType?: unknown;
  schema?: unknown;
  valueType?: unknown;
  type?: unknown;
  options?: unknown[];
  discriminator?: string;
}
const defOf = (schema: unknown): ZodDefLike | undefined => (schema as { _def?: ZodDefLike })?._def;

/** The keys of an object schema under its wrappers (optional, default, effects). */
function shapeKeys(schema: unknown): string[] {
  for (let def = defOf(schema); def; def = defOf(schema)) {
    if (def.innerType) schema = def.innerType;
    else if (def.typeName === 'ZodEffects') schema = def.schema;
    else return def.typeName === 'ZodObject' && def.shape ? Object.keys(def.shape()) : [];
  }
  return [];
}

/** Of a plain union's members (a gate: `data: pass` or a metric), the one whose keys `data` uses most. */
function closestMember(options: unknown[], data: unknown): number {
  const used = isPlainObject(data) ? Object.keys(data) : [];
  let best = 0;
  let most = -1;
  for (const [i, option] of options.entries()) {
    const keys = new Set(shapeKeys(option));
    const overlap = used.filter((k) => keys.has(k)).length;
    if (overlap > most) [best, most] = [i, overlap];
  }
  return best;
}

/** Strip wrappers (optional, default, effects) and pick the union member that matches `data`. */
function unwrap(schema: unknown, data: unknown): unknown {
  for (let def = defOf(schema); def; def = defOf(schema)) {
    if (def.innerType) schema = def.innerType;
    else if (def.typeName === 'ZodEffects') schema = def.schema;
    else if (def.typeName === 'ZodUnion' && def.options?.some((o) => shapeKeys(o).length > 0)) schema = def.options[closestMember(def.options, data)];
    else if (def.typeName === 'ZodDiscriminatedUnion' && def.options && def.discriminator) {
      const tag = isPlainObject(data) ? data[def.discriminator] : undefined;
      const match = def.options.find((option) => (defOf(defOf(option)?.shape?.()[def.discriminator!]) as { value?: unknown } | undefined)?.value === tag);
      if (!match) return schema;
      schema = match;
    } else return schema;
  }
  return schema;
}

function knownKeys(schema: unknown, data: unknown): string[] {
  const def = defOf(unwrap(schema, data));
  return def?.typeName === 'ZodObject' && def.shape ? Object.keys(def.shape()) : [];
}

function childSchema(schema: unknown, key: string | number, data: unknown): unknown {
  const def = defOf(unwrap(schema, data));
  if (!def) return undefined;
  if (def.typeName === 'ZodObject') return def.shape?.()[String(key)];
  if (def.typeName === 'ZodRecord') return def.valueType;
  if (def.typeName === 'ZodArray') return def.type;
  return undefined;
}

function schemaAt(path: ReadonlyArray<PropertyKey>, root: Raw): { schema: unknown; data: unknown } {
  let schema: unknown = configSchema();
  let data: unknown = root;
  for (const key of path) {
    schema = childSchema(schema, key as string | number, data);
    data = data != null && typeof data === 'object' ? (data as Raw)[key as string] : undefined;
  }
  return { schema, data };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const shown = JSON.stringify(value);
  return `${typeof value} ${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown}`;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

// Docker Compose's names for keys ops spells otherwise: users bring them along.
const composeNames = new Map([
  ['build', 'context'],
  ['args', 'buildArgs'],
  ['environment', 'env'],
  ['healthcheck', 'health'],
  ['depends_on', 'dependsOn'],
  ['mem_limit', 'resources'],
  ['deploy', 'resources'],
  ['stop_grace_period', 'stopTimeout'],
]);

function closestKey(candidate: string, keys: string[]): string | undefined {
  const composeName = composeNames.get(candidate);
  if (composeName && keys.includes(composeName)) return composeName;
  let best: { key: string; distance: number } | undefined;
  for (const key of keys) {
    const distance = levenshtein(candidate.toLowerCase(), key.toLowerCase());
    if (!best || distance < best.distance) best = { key, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(candidate.length / 3)) ? best.key : undefined;
}

let levenshtein: (a: string, b: string) => number;


function issueMessage(issue: ZodIssue, raw: Raw): { path: PropertyKey[]; text: string } {
  const path = [...issue.path];
  const { schema, data } = schemaAt(path, raw);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const suggestion = closestKey(key, knownKeys(schema, data));
    return { path: [...path, key], text: `unknown key ${quote(key)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}` };
  }
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : issue.expected;
    return { path, text: `expected ${expected}, found ${describe(data)}` };
  }
  if (issue.code === 'invalid_union') {
    // Say what is wrong with the member the entry looks like (the most of its keys), not "invalid input".
    const options = defOf(schema)?.typeName === 'ZodUnion' ? defOf(schema)!.options! : null;
    const member = options ? issue.unionErrors[closestMember(options, data)] : undefined;
    const inner = member?.issues.find((i) => i.code === 'unrecognized_keys') ?? member?.issues[0];
    if (inner) return issueMessage(inner, raw);
  }
  if (issue.code === 'invalid_union_discriminator') {
    return { path, text: `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}, found ${describe(data)}` };
  }
  if (issue.code === 'invalid_literal') {
    return { path, text: `expected ${JSON.stringify(issue.expected)}, found ${describe(data)}` };
  }
  // A record key that fails its pattern: the path ends at the key itself.
  if (data === undefined && path.length > 0) {
    const parent = schemaAt(path.slice(0, -1), raw);
    if (isPlainObject(parent.data) && String(path[path.length - 1]) in parent.data) {
      return { path, text: `invalid name ${quote(String(path[path.length - 1]))}: expected ${issue.message}` };
    }
  }
  if (issue.code === 'invalid_string' || issue.code === 'custom') return { path, text: `expected ${issue.message}, found ${describe(data)}` };
  return { path, text: `${issue.message.toLowerCase()}, found ${describe(data)}` };
}

export async function validateConfig(raw: Raw, files: string[], overrides: EnvOverride[] = []): Promise<OpsConfig> {
  schemaModule ??= await import('./schema.js');
  const result = configSchema().safeParse(raw);
  if (result.success) return result.data;
  levenshtein ??= (await import('fastest-levenshtein')).distance;
  // A typo explains the "missing key" issues that come with it: report unknown keys first.
  const first = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0];
  const { path, text } = issueMessage(first!, raw);
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  const variable = overrideOf(overrides, path);
  if (variable) {
    // The value came from the environment, not from a file: blame the variable. (No "key: value"
    // shape: a key named like a secret would read as one to the redaction of printed lines.)
    throw new ConfigError(`environment variable ${variable.name} (${formatPath(path)}): ${text}${more}`, `fix or unset ${variable.name}`);
  }
  const file = files.find((f) => schemaPathIn(f, path)) ?? files[0] ?? 'configuration';
  const line = files.length ? (await import('./locate.js')).lineOf(file, path) : undefined;
  const shown = relative(process.cwd(), file);
  const where = `${shown && !shown.startsWith('..') ? shown : file}${line ? `:${line}` : ''}`;
  throw new ConfigError(`${where}: ${formatPath(path) || '(top level)'}: ${text}${more}`, 'fix the file and rerun (every key is described in ops.config.example.yaml)');
}

/** Whether the file defines the first key of `path` (to blame the right file of a merge). */
function schemaPathIn(file: string, path: ReadonlyArray<PropertyKey>): boolean {
  try {
    const data = readConfigFile(file);
    return data != null && path.length > 0 && String(path[0]) in data;
  } catch {
    return false;
  }
}

export async function loadConfig(options: LoadOptions): Promise<LoadedConfig> {
  let projectFile: string | null;
  if (options.configFile) {
    projectFile = resolve(options.cwd, options.configFile);
    if (!existsSync(projectFile)) throw new ConfigError(`config file ${projectFile} does not exist`, 'check the --config path');
  } else {
    projectFile = findProjectConfig(options.cwd, options.env);
  }
  const userFile = userConfigPath(options.env);
  const files = [projectFile, existsSync(userFile) ? userFile : null].filter((f): f is string => f !== null);
  const root = projectFile ? dirname(projectFile) : options.cwd;
  if (!projectFile) return { config: null, root, files };

  const cache = configCache(root, files, options.env);
  const cached = cache.read();
  if (cached) return { config: cached, root, files };

  schemaModule ??= await import('./schema.js');
  jsYaml ??= await import('js-yaml');
  const project = readConfigFile(projectFile) ?? {};
  const user = files.includes(userFile) ? (readConfigFile(userFile) ?? {}) : {};
  const { config: merged, overrides } = applyEnvOverrides(mergeConfig(user, project), options.env);
  const config = await validateConfig(merged, files, overrides);
  cache.write(config);
  return { config, root, files };
}
