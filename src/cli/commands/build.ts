import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { action } from '../action.js';
import { helpText } from '../help.js';
import { collect, concurrencyFlag } from '../format.js';

interface BuildFlags {
  tag?: string[];
  push?: boolean;
  cache: boolean;
  parallel: number;
  dryRun?: boolean;
}

function size(bytes: number | null): string {
  if (bytes == null) return '-';
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build service images through the Docker engine, tagged by git state, skipped when their inputs are unchanged')
    .argument('[service...]', 'services to build (default: all in the config)')
    .option('-t, --tag <tag>', 'an extra tag (repeatable)', collect)
    .option('--push', 'push every tag to the registry and record the digest')
    .option('--no-cache', 'build even when an image with the same input digest exists, without the engine cache')
    .option('--parallel <n>', 'build this many services at once', concurrencyFlag, 1)
    .option('-n, --dry-run', 'print what would be built and its tags; computes the input digest only')
    .addHelpText('after', helpText({
      details: `Tags: <image>:<short sha>, or <image>:<short sha>-dirty-<8 hex> with uncommitted changes.
An image whose input digest (context files after .dockerignore, Dockerfile, build args, target)
matches an existing image is not rebuilt: it is reported as cached and only tagged.
Registry credentials: OPS_REGISTRY_USERNAME/OPS_REGISTRY_PASSWORD, or ~/.docker/config.json.`,
      examples: [
        'ops build',
        'ops build web --push',
        'ops build --parallel 2 --tag release-42 --json',
        'ops build --dry-run',
      ],
      exitCodes: { 0: 'built (or found cached) every service', 1: 'a build failed (its step and last log lines are printed), or a push failed' },
    }))
    .action(
      action<BuildFlags, [string[]]>(async (ctx, out, options, services) => {
        const { planBuilds, runBuilds } = await import('../../core/build/index.js');
        const config = ctx.requireConfig();
        const { plans, git } = await planBuilds(ctx, config, { services, extraTags: options.tag ?? [] });

        if (options.dryRun) {
          const planned = plans.map((p) => ({ service: p.service, image: p.config.image, tags: p.tags, inputDigest: p.inputDigest, files: p.entries.length, status: 'planned' }));
          if (options.json) return out.json(planned);
          out.result(await out.table(['SERVICE', 'TAGS', 'INPUT DIGEST', 'FILES'], planned.map((p) => [p.service, p.tags.join(' '), p.inputDigest.slice(0, 19), p.files])));
          return;
        }

        const { results } = await runBuilds(ctx, config, plans, git, { push: Boolean(options.push), noCache: !options.cache, parallel: options.parallel });
        for (const failed of results.filter((r) => r.status === 'failed')) {
          process.stderr.write(`${out.chalk.red('error:')} ${failed.service}: build failed${failed.failedStep ? ` at ${failed.failedStep}` : ''}: ${failed.error}\n`);
          for (const line of failed.logTail ?? []) process.stderr.write(`  ${line}\n`);
        }
        if (options.json) {
          out.json(results.map(({ service, image, tags, digest, inputDigest, cached, sizeBytes, durationMs, status }) => ({ service, image, tags, digest, inputDigest, cached, sizeBytes, durationMs, status })));
        } else {
          out.result(
            await out.table(
              ['SERVICE', 'STATUS', 'TAGS', 'DIGEST', 'SIZE', 'DURATION'],
              results.map((r) => [r.service, r.status, r.tags.map((t) => t.slice(t.lastIndexOf(':') + 1)).join(' '), r.digest ? r.digest.slice(r.digest.indexOf('@') + 1, r.digest.indexOf('@') + 20) : null, size(r.sizeBytes), `${(r.durationMs / 1000).toFixed(1)}s`]),
            ),
          );
        }
        return results.some((r) => r.status === 'failed') ? ExitCode.failed : ExitCode.ok;
      }),
    );
}
