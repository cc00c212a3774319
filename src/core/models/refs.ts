import { NotFoundError, quote, UsageError } from '../../errors.js';
import type { Ledger, ModelVersion } from '../../ledger/index.js';

/** Model names: letters, digits, dots, dashes and underscores (like MLflow's), up to 100. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Aliases: lowercase words; never a number or "v<number>", which would read as a version. */
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

export interface ModelRef {
  name: string;
  /** A version number, an alias, "latest", or absent (the model itself). */
  version?: number;
  alias?: string;
}

export function checkModelName(name: string): string {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new UsageError(`${quote(name)} is not a valid model name`, 'use letters, digits, dots, dashes and underscores (like "churn-classifier")');
  }
  return name;
}

export function checkAlias(alias: string): string {
  if (!ALIAS_PATTERN.test(alias) || /^v\d+$/.test(alias) || alias === 'latest') {
    throw new UsageError(
      `${quote(alias)} is not a valid alias`,
      'use a lowercase word like production, staging or champion (not "latest", and not a version such as v3)',
    );
  }
  return alias;
}

/** `name`, `name@3`, `name@v3`, `name@production`, `name@latest`. */
export function parseModelRef(text: string): ModelRef {
  const at = text.lastIndexOf('@');
  if (at < 0) return { name: checkModelName(text) };
  const name = checkModelName(text.slice(0, at));
  const selector = text.slice(at + 1);
  const number = /^v?(\d+)$/.exec(selector);
  if (number) {
    const version = Number(number[1]);
    if (version < 1) throw new UsageError(`${quote(text)} names version 0`, 'versions start at 1');
    return { name, version };
  }
  if (selector === 'latest') return { name, alias: 'latest' };
  return { name, alias: checkAlias(selector) };
}

export async function requireModel(ledger: Ledger, name: string): Promise<void> {
  if (await ledger.models.modelExists(name)) return;
  const known = await ledger.models.modelNames();
  throw new NotFoundError(
    `model "${name}" does not exist`,
    known.length ? `registered models: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}` : 'register one with `ops model register <name> --run <id>`',
  );
}

/** The version a reference points at; a bare name means its latest version. */
export async function resolveVersion(ledger: Ledger, ref: ModelRef): Promise<ModelVersion> {
  await requireModel(ledger, ref.name);
  const label = `${ref.name}@${ref.version ?? ref.alias ?? 'latest'}`;
  let version = ref.version;
  if (version === undefined && ref.alias && ref.alias !== 'latest') {
    const held = await ledger.models.aliasHolder(ref.name, ref.alias);
    if (held == null) throw new NotFoundError(`model "${ref.name}" has no alias "${ref.alias}"`, `see its aliases with \`ops model show ${ref.name}\``);
    version = held;
  }
  version ??= (await ledger.models.latestVersion(ref.name)) ?? undefined;
  const found = version === undefined ? undefined : await ledger.models.version(ref.name, version);
  if (!found) {
    const latest = await ledger.models.latestVersion(ref.name);
    throw new NotFoundError(`${label} does not exist`, latest ? `versions of ${ref.name} run from 1 to ${latest}` : `${ref.name} has no versions yet`);
  }
  return found;
}
