import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import type { Context } from './context.js';
import { validateConfig } from './config/load.js';
import { NAME_PATTERN } from './config/schema.js';
import { InputNeededError, quote, UsageError } from '../errors.js';

export interface DetectedService {
  name: string;
  /** Build context and Dockerfile, relative to the project root. */
  context: string;
  dockerfile: string;
  /** Ports the Dockerfile EXPOSEs, published as the same host port on the docker target. */
  ports?: number[];
}

export interface InitAnswers {
  project: string;
  registry?: string;
  services: DetectedService[];
  env: string;
  target: 'docker' | 'kubernetes';
  namespace?: string;
  kubeContext?: string;
}

const SKIPPED_DIRS = new Set(['node_modules', '.git', '.ops', 'dist', 'vendor', 'target']);
const MAX_DEPTH = 3;

export function toName(text: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return name || 'app';
}

function isDockerfile(file: string): boolean {
  return file === 'Dockerfile' || file.startsWith('Dockerfile.') || file.endsWith('.Dockerfile');
}

/** The TCP ports of the Dockerfile's EXPOSE lines ("EXPOSE 8080 9090/tcp"). */
function exposedPorts(dockerfile: string): number[] {
  let text: string;
  try {
    text = readFileSync(dockerfile, 'utf8');
  } catch {
    return [];
  }
  const ports = [...text.matchAll(/^\s*EXPOSE\s+(.+)$/gim)].flatMap((m) => m[1]!.trim().split(/\s+/));
  return ports.filter((p) => /^\d+(\/tcp)?$/i.test(p)).map((p) => Number.parseInt(p, 10));
}

/** Dockerfiles up to three folders deep, each a candidate service. */
export function detectServices(root: string, project: string): DetectedService[] {
  const found: DetectedService[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory() && depth < MAX_DEPTH && !SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) {
        walk(join(dir, entry.name), depth + 1);
      } else if (entry.isFile() && isDockerfile(entry.name)) {
        const context = relative(root, dir) || '.';
        const variant = entry.name === 'Dockerfile' ? '' : entry.name.replace(/^Dockerfile\.|\.Dockerfile$/g, '');
        const base = context === '.' ? project : basename(context);
        found.push({ name: toName(variant ? `${base}-${variant}` : base), context, dockerfile: entry.name, ports: exposedPorts(join(dir, entry.name)) });
      }
    }
  };
  walk(root, 0);
  return found;
}

export interface Detection {
  project: string;
  remote: string | null;
  services: DetectedService[];
  configPath: string;
  configExists: boolean;
}

export async function detect(ctx: Context): Promise<Detection> {
  const remote = await ctx.adapters.git.gitRemoteUrl(ctx.cwd);
  const fromRemote = remote ? basename(remote).replace(/\.git$/, '') : null;
  const project = toName(fromRemote ?? basename(ctx.cwd));
  const configPath = join(ctx.cwd, 'ops.config.yaml');
  return { project, remote, services: detectServices(ctx.cwd, project), configPath, configExists: existsSync(configPath) };
}

/** Parse `name=path/to/Dockerfile` (or a bare Dockerfile path) as given to --service. */
export function parseServiceFlag(value: string, project: string): DetectedService {
  const [maybeName, maybePath] = value.includes('=') ? value.split('=', 2) : [undefined, value];
  const path = maybePath!;
  const context = dirname(path) === '' ? '.' : dirname(path);
  const name = maybeName ?? toName(context === '.' ? project : basename(context));
  if (!NAME_PATTERN.test(name)) throw new UsageError(`--service name ${quote(name)} is not a valid name`, 'use lowercase letters, digits and dashes');
  return { name, context, dockerfile: basename(path) };
}

function indent(text: string, spaces: number): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}

export function renderConfig(answers: InitAnswers, template: string): string {
  const imageBase = answers.registry ? `${answers.registry}/${answers.project}` : answers.project;
  const services = Object.fromEntries(
    answers.services.map((s) => [
      s.name,
      {
        context: s.context,
        dockerfile: s.dockerfile,
        image: `${imageBase}/${s.name}`,
        ...(answers.target === 'docker' && s.ports?.length ? { ports: s.ports.map((p) => `${p}:${p}`) } : {}),
      },
    ]),
  );
  const environment =
    answers.target === 'docker'
      ? { target: 'docker' }
      : { target: 'kubernetes', ...(answers.kubeContext ? { context: answers.kubeContext } : {}), namespace: answers.namespace ?? 'default', manifests: 'k8s' };
  return template
    .replace('{{project}}', answers.project)
    .replace('{{registry}}\n', answers.registry ? `registry:\n  url: ${answers.registry}\n  insecure: ${/^(localhost|127\.)/.test(answers.registry)}\n` : '')
    .replace('{{services}}', answers.services.length ? indent(stringify(services), 2) : '  {}')
    .replace('{{environments}}', indent(stringify({ [answers.env]: environment }), 2));
}

export interface InitResult {
  configPath: string;
  gitignoreUpdated: boolean;
  services: string[];
}

/** Write ops.config.yaml (validated first) and ignore .ops/ in git. */
export async function writeInit(ctx: Context, answers: InitAnswers, options: { force: boolean; templatePath: string }): Promise<InitResult> {
  const configPath = join(ctx.cwd, 'ops.config.yaml');
  if (existsSync(configPath) && !options.force) {
    throw new InputNeededError(`${configPath} already exists`, '--force to overwrite it');
  }
  const text = renderConfig(answers, readFileSync(options.templatePath, 'utf8'));
  await validateConfig(parseYaml(text) as Record<string, unknown>, []);
  writeFileSync(configPath, text, { mode: 0o644 });

  const gitignore = join(ctx.cwd, '.gitignore');
  const current = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  const ignored = current.split('\n').some((line) => ['.ops', '.ops/', '/.ops', '/.ops/'].includes(line.trim()));
  if (!ignored) appendFileSync(gitignore, `${current && !current.endsWith('\n') ? '\n' : ''}.ops/\n`);
  return { configPath, gitignoreUpdated: !ignored, services: answers.services.map((s) => s.name) };
}
