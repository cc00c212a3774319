import type { Command } from 'commander';
import type { DeployResult } from '../../core/deploy/index.js';
import type { ManyResult } from '../../core/deploy/many.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { Release } from '../../ledger/index.js';
import { action } from '../action.js';
import { helpText } from '../help.js';
import type { CliOutput } from '../output.js';
import { concurrencyFlag, durationFlag, formatDuration, formatTime, nameFlag, positiveInt } from '../format.js';

interface DeployFlags {
  env?: string;
  parallel: number;
  image?: string;
  build?: boolean;
  lockTimeout: number;
  acceptRisk?: string;
  dryRun?: boolean;
}

function requireEnv(env: string | undefined): asserts env is string {
  if (!env) throw new UsageError('which environment? --env is required', 'pass --env <env> (see environments: in the config)');
}

function riskText(release: Pick<Release, 'risk'>): string {
  const risk = release.risk;
  if (risk.status !== 'scored') return 'not scored';
  return `${risk.probability?.toFixed(2)} ${risk.level ?? ''}${risk.accepted ? ' (accepted)' : ''}`.trim();
}

function reportFailure(out: CliOutput, result: DeployResult): void {
  process.stderr.write(`${out.chalk.red('error:')} ${result.service} r${result.revision} to ${result.env} failed: ${result.error}\n`);
  if (result.logTail?.length) {
    process.stderr.write('last log lines:\n');
    for (const line of result.logTail) process.stderr.write(`  ${line}\n`);
  }
}

async function printResult(out: CliOutput, result: DeployResult, json: boolean | undefined): Promise<number> {
  if (result.status !== 'deployed') reportFailure(out, result);
  if (json) out.json(result);
  else {
    out.result(
      await out.table(
        ['SERVICE', 'ENV', 'REVISION', 'STATUS', 'IMAGE', 'DURATION', 'RISK'],
        [[result.service, result.env, result.revision, result.status, result.image, formatDuration(result.durationMs), riskText(result)]],
      ),
    );
  }
  return result.status === 'deployed' ? ExitCode.ok : ExitCode.failed;
}

async function printMany(out: CliOutput, many: ManyResult, json: boolean | undefined): Promise<number> {
  for (const result of many.results) if (result.status !== 'deployed' && 'revision' in result) reportFailure(out, result);
  if (json) out.json(many);
  else {
    out.result(
      await out.table(
        ['SERVICE', 'ENV', 'REVISION', 'STATUS', 'IMAGE', 'DURATION', 'RISK'],
        many.results.map((r) =>
          'revision' in r
            ? [r.service, r.env, r.revision, r.status, r.image, formatDuration(r.durationMs), riskText(r)]
            : [r.service, r.env, null, `${r.status}: ${'reason' in r ? r.reason : r.error}`, null, null, null],
        ),
      ),
    );
  }
  return many.status === 'deployed' ? ExitCode.ok : ExitCode.failed;
}

export function registerDeploy(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('ship an image to an environment, wait for it to be healthy, keep its release history')
    .argument('<services...>', 'the services to deploy, in dependsOn order whatever order they are named in')
    // Not requiredOption: commander would demand it of the subcommands' parent too.
    .option('-e, --env <env>', 'the environment (from environments: in the config)', nameFlag)
    .option('--image <ref>', 'the image to deploy (default: the service\'s last successful build)')
    .option('--build', 'build the service first and deploy that image (pushed for kubernetes)')
    .option('--lock-timeout <duration>', 'wait this long for another deploy of the service to finish', durationFlag, 0)
    .option('--accept-risk <reason>', 'deploy even above risk.block; the reason is recorded with the release')
    .option('-n, --dry-run', 'show the rendered manifests and `kubectl diff` (or the Docker plan); changes nothing')
    .option('--parallel <n>', 'deploy up to n services at once; each still waits for those it depends on', concurrencyFlag, 1)
    .addHelpText('after', helpText({
      details: `Docker target: the new container starts beside the old one and must be healthy (HEALTHCHECK, or
health.http in the config) before the old one is removed. Kubernetes target: kubectl apply, then
the rollout is watched; CrashLoopBackOff, image pull errors and the progress deadline fail it, and
autoRollback runs \`kubectl rollout undo\`.
One deploy per service and environment runs at a time (a lock in the ledger).
Several services deploy in dependsOn order, each as its own release; every name and image is
checked before the first starts, and the first failure stops the rest (reported as skipped).`,
      examples: [
        'ops deploy web --env local',
        'ops deploy web --env staging --build',
        'ops deploy web --env prod --image registry.local:5000/web:1a2b3c4 --lock-timeout 5m',
        'ops deploy web --env prod --dry-run',
        'ops deploy web worker --env staging              # worker first when web dependsOn it',
        'ops deploy web worker cron --env staging --parallel 2',
        'ops deploy history web --env prod',
        'ops deploy rollback web --env prod --to 3',
      ],
      exitCodes: { 0: 'deployed and healthy (every service named)', 1: 'a deploy failed (unhealthy, rolled back, lock held), or no build to deploy', 3: 'blocked by the risk gate (above risk.block without --accept-risk)' },
    }))
    .action(
      action<DeployFlags, [string[]]>(async (ctx, out, options, services) => {
        requireEnv(options.env);
        if (services.length > 1 && options.image) throw new UsageError('--image names one image, for one service', 'deploy the services one at a time with --image, or leave --image out to deploy their last builds');
        const core = await import('../../core/deploy/index.js');
        const request = {
          service: services[0]!,
          env: options.env,
          image: options.image,
          build: options.build,
          lockTimeoutMs: options.lockTimeout,
          acceptRisk: options.acceptRisk,
          confirmRisk: async (message: string) => {
            const { confirm } = await import('@inquirer/prompts');
            return confirm({ message, default: false });
          },
        };
        if (services.length > 1) {
          const { deployMany, deployOrder } = await import('../../core/deploy/many.js');
          if (options.dryRun) {
            const plans = [];
            for (const { service } of deployOrder(ctx.requireConfig(), services)) plans.push(await core.dryRun(ctx, { ...request, service }));
            if (options.json) return out.json(plans.map((plan) => ({ ...plan, manifests: plan.manifests?.documents })));
            out.result(plans.map((plan) => `${plan.service} to ${plan.env} (${plan.target}): ${plan.image}; now running: ${plan.current ? `r${plan.current.revision} ${plan.current.image}` : 'nothing'}`).join('\n'));
            return;
          }
          return printMany(out, await deployMany(ctx, { ...request, services, parallel: options.parallel }), options.json);
        }
        if (options.dryRun) {
          const plan = await core.dryRun(ctx, request);
          if (options.json) return out.json({ ...plan, manifests: plan.manifests?.documents });
          const lines = [`${plan.service} to ${plan.env} (${plan.target}): ${plan.image}`, `now running: ${plan.current ? `r${plan.current.revision} ${plan.current.image}` : 'nothing'}`];
          if (plan.manifests) {
            const { manifestsYaml } = await import('../../core/deploy/kubernetes.js');
            lines.push(`--- manifests from ${plan.manifests.source}`, manifestsYaml(plan.manifests).trimEnd(), '--- kubectl diff', plan.diff?.trimEnd() || '(no changes)');
          }
          out.result(lines.join('\n'));
          return;
        }
        return printResult(out, await core.deploy(ctx, request), options.json);
      }),
    );

  deploy
    .command('rollback')
    .description('deploy an earlier revision\'s image again, as a new revision "rollback to N"')
    .argument('<service>', 'the service')
    .option('-e, --env <env>', 'the environment (required)', nameFlag)
    .option('--to <revision>', 'the revision to return to (default: the one before the current)', positiveInt)
    .option('--lock-timeout <duration>', 'wait this long for another deploy to finish', durationFlag, 0)
    .addHelpText('after', helpText({
      examples: ['ops deploy rollback web --env prod', 'ops deploy rollback web --env prod --to 3 --json'],
      exitCodes: { 0: 'rolled back and healthy', 1: 'no such revision or nothing to roll back to, or the rollback failed (unhealthy, lock held)' },
    }))
    .action(
      action<{ env?: string; to?: number; lockTimeout: number }, [string]>(async (ctx, out, options, service) => {
        requireEnv(options.env);
        const { rollback } = await import('../../core/deploy/index.js');
        return printResult(out, await rollback(ctx, { service, env: options.env, to: options.to, lockTimeoutMs: options.lockTimeout }), options.json);
      }),
    );

  deploy
    .command('history')
    .description('list the releases of a service in an environment, newest first')
    .argument('<service>', 'the service')
    .option('-e, --env <env>', 'the environment (required)', nameFlag)
    .option('--limit <n>', 'at most this many releases', positiveInt, 20)
    .addHelpText('after', helpText({
      details: 'Statuses: pending, deployed, superseded, failed, rolled_back. UPDATED is when the release finished\n(reached its status), or when it began while it is still pending.',
      examples: ['ops deploy history web --env prod', 'ops deploy history web --env prod --limit 5 --json'],
      exitCodes: { 0: 'listed (also when there is no release yet)', 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action<{ env?: string; limit: number }, [string]>(async (ctx, out, options, service) => {
        requireEnv(options.env);
        const { history } = await import('../../core/deploy/index.js');
        const releases = await history(ctx, service, options.env, options.limit);
        if (options.json) return out.json(releases);
        if (releases.length === 0) return out.info(`no releases of ${service} in ${options.env} yet`);
        out.result(
          await out.table(
            ['REVISION', 'UPDATED', 'STATUS', 'IMAGE', 'DURATION', 'RISK', 'BY', 'DESCRIPTION'],
            releases.map((r) => [r.revision, formatTime(r.finishedAt ?? r.createdAt), r.status, r.image, formatDuration(r.durationMs), riskText(r), r.actor, r.error ? `${r.description}: ${r.error}` : r.description]),
          ),
        );
      }, { readOnly: true }),
    );

  deploy
    .command('status')
    .description('what runs now in an environment, and its health')
    .argument('[service]', 'one service (default: every deployed service)')
    .option('-e, --env <env>', 'the environment (required)', nameFlag)
    .addHelpText('after', helpText({
      examples: ['ops deploy status --env local', 'ops deploy status web --env prod --json'],
      exitCodes: { 0: 'shown (also when nothing is deployed)', 1: 'the engine or the cluster could not be asked' },
    }))
    .action(
      action<{ env?: string }, [string | undefined]>(async (ctx, out, options, service) => {
        requireEnv(options.env);
        const { status } = await import('../../core/deploy/index.js');
        const found = await status(ctx, options.env, service);
        if (options.json) return out.json(found);
        if (found.length === 0) return out.info(`nothing deployed to ${options.env} yet`);
        const rows = found.map((s) => {
          const live = s.live;
          const health =
            'deployments' in live
              ? live.deployments.map((d) => `${d.name} ${d.available}/${d.desired} available`).join(', ') || 'no deployments'
              : `${live.container ?? 'no container'} ${live.state}${live.health ? ` (${live.health})` : ''}`;
          return [s.service, s.release ? `r${s.release.revision}` : '-', s.release?.image ?? '-', formatTime(s.release?.createdAt), health];
        });
        out.result(await out.table(['SERVICE', 'REVISION', 'IMAGE', 'DEPLOYED', 'LIVE'], rows));
      }, { readOnly: true }),
    );
}
