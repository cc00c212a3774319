import type { Command } from 'commander';
import { action } from '../action.js';
import { formatAge, formatTime } from '../format.js';
import { helpText } from '../help.js';
import { incidentTable } from './watch.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('one screen for the project: what runs where and its health, open incidents, promoted models, last builds')
    .addHelpText('after', helpText({
      details: `For every service and environment with a release: the live revision, its image and commit, how
long ago it was deployed, and its health as the Docker engine or the cluster reports it now (an
environment that cannot be asked shows "unknown" with the reason). Then the unresolved
incidents, every model alias with its version, and each service's last successful build.`,
      examples: ['ops status', "ops status --json | jq '.releases[] | select(.health != \"healthy\")'"],
      exitCodes: { 0: 'shown (an unhealthy service is shown, not an error)', 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action(async (ctx, out, options) => {
        const { projectStatus } = await import('../../core/status/index.js');
        const status = await projectStatus(ctx);
        if (options.json) return out.json(status);
        const now = ctx.clock.now();
        const colour = (health: string) => (health === 'healthy' ? out.chalk.green(health) : health === 'unhealthy' ? out.chalk.red(health) : out.chalk.yellow(health));
        const parts = [`${out.chalk.bold(status.project)} at ${formatTime(status.at)}`, ''];
        parts.push(
          status.releases.length
            ? await out.table(
                ['SERVICE', 'ENV', 'REVISION', 'IMAGE', 'COMMIT', 'AGE', 'HEALTH'],
                status.releases.map((r) => [r.service, r.env, `r${r.revision}`, r.image, r.commit?.slice(0, 8) ?? null, formatAge(r.deployedAt, now), `${colour(r.health)}: ${r.live}`]),
              )
            : 'nothing deployed yet',
        );
        parts.push('', status.incidents.length ? `${out.chalk.bold(`${status.incidents.length} unresolved incident(s):`)}\n${await incidentTable(out, status.incidents)}` : 'no unresolved incidents');
        parts.push('', status.models.length ? `models: ${status.models.map((m) => `${m.model}@${m.alias}=v${m.version}`).join('  ')}` : 'no model alias set');
        if (status.builds.length) {
          parts.push('', await out.table(['SERVICE', 'LAST BUILD', 'COMMIT', 'BUILT'], status.builds.map((b) => [b.service, b.tags[0] ?? null, b.commit ? `${b.commit.slice(0, 8)}${b.dirty ? '*' : ''}` : null, formatTime(b.createdAt)])));
        } else parts.push('', 'no builds yet');
        out.result(parts.join('\n'));
      }),
    );
}
