import type { Command } from 'commander';
import { Option } from 'commander';
import { InputNeededError } from '../../errors.js';
import { action } from '../action.js';
import { helpText } from '../help.js';
import { packageFile } from '../installation.js';

interface InitOptions {
  project?: string;
  registry?: string;
  service?: string[];
  env: string;
  target: 'docker' | 'kubernetes';
  namespace?: string;
  kubeContext?: string;
  force?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create ops.config.yaml: detects Dockerfiles and the git remote, asks when interactive')
    .option('--project <name>', 'project name (default: the git remote or folder name)')
    .option('--registry <host[:port]>', 'registry to push images to, e.g. 127.0.0.1:5000')
    .option('--service <name=dockerfile>', 'a service and its Dockerfile (repeatable; default: every Dockerfile found)', collect)
    .option('--env <name>', 'name of the first environment', 'local')
    .addOption(new Option('--target <target>', 'where that environment runs').choices(['docker', 'kubernetes']).default('docker'))
    .option('--namespace <ns>', 'Kubernetes namespace (target kubernetes)')
    .option('--kube-context <name>', 'kubectl context (target kubernetes)')
    .option('-f, --force', 'overwrite an existing ops.config.yaml')
    .addHelpText('after', helpText({
      examples: [
        'ops init                                   answer a few questions',
        'ops init --no-input --registry 127.0.0.1:5000',
        'ops init --no-input --service web=web/Dockerfile --service worker=worker/Dockerfile --force',
      ],
      exitCodes: { 0: 'wrote ops.config.yaml (or left it, when told so at the prompt)', 1: 'the config could not be written', 4: 'ops.config.yaml exists and no terminal to ask: pass --force' },
    }))
    .action(
      action<InitOptions>(async (ctx, out, options) => {
        const { detect, parseServiceFlag, toName, writeInit } = await import('../../core/init.js');
        const found = await detect(ctx);
        let project = options.project ? toName(options.project) : found.project;
        let services = options.service ? options.service.map((s) => parseServiceFlag(s, project)) : found.services;
        let registry = options.registry;
        let force = Boolean(options.force);
        let target = options.target;
        let namespace = options.namespace;

        if (found.configExists && !force && !ctx.interactive) {
          throw new InputNeededError(`${found.configPath} already exists`, '--force to overwrite it');
        }
        if (ctx.interactive) {
          const { input, checkbox, select, confirm } = await import('@inquirer/prompts');
          const io = { output: process.stderr };
          if (found.configExists && !force) {
            force = await confirm({ message: `${found.configPath} exists. Overwrite it?`, default: false }, io);
            if (!force) return out.info('left ops.config.yaml as it was');
          }
          project = toName(await input({ message: 'Project name', default: project }, io));
          if (!options.service && found.services.length) {
            const chosen = await checkbox(
              { message: 'Services to build (one per Dockerfile found)', choices: found.services.map((s) => ({ name: `${s.name}  (${s.context}/${s.dockerfile})`, value: s.name, checked: true })) },
              io,
            );
            services = found.services.filter((s) => chosen.includes(s.name));
          }
          registry = (await input({ message: 'Registry to push to (empty for none)', default: registry ?? '' }, io)) || undefined;
          target = await select({ message: `Where does "${options.env}" run?`, choices: [{ value: 'docker' as const, name: 'the local Docker engine' }, { value: 'kubernetes' as const, name: 'Kubernetes (kubectl)' }], default: target }, io);
          if (target === 'kubernetes') namespace = await input({ message: 'Namespace', default: namespace ?? project }, io);
        }

        const result = await writeInit(
          ctx,
          { project, registry, services, env: options.env, target, namespace, kubeContext: options.kubeContext },
          { force, templatePath: packageFile('templates/ops.config.yaml') },
        );
        if (options.json) return out.json(result);
        out.info(`wrote ${result.configPath} (${result.services.length ? `services: ${result.services.join(', ')}` : 'no services found: add them under services:'})`);
        if (result.gitignoreUpdated) out.info('added .ops/ to .gitignore');
        out.info('next: ops doctor');
      }),
    );
}
