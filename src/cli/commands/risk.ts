import type { Command } from 'commander';
import { GateBlockedError, quote, UsageError } from '../../errors.js';
import type { HoldoutMetrics } from '../../core/risk/evaluate.js';
import type { RiskTraining } from '../../core/risk/index.js';
import { action } from '../action.js';
import { nameFlag } from '../format.js';
import { helpText, withHelp } from '../help.js';

const percent = (p: number) => `${(p * 100).toFixed(0)}%`;
const shortNumber = (n: number | null) => (n === null ? 'n/a' : String(Number(n.toPrecision(4))));
const f3 = (v: number | null | undefined) => (v == null ? 'n/a' : v.toFixed(3));

function trainingText(result: RiskTraining): string {
  const promotion = result.promotion;
  const gates = (promotion?.checks ?? []).map(
    (c) => `gate ${c.metric} ${c.rule}: ${shortNumber(c.candidate)}${c.baseline != null ? ` (v${promotion!.baseline}: ${shortNumber(c.baseline)})` : ''} ${c.passed ? 'passed' : 'FAILED'}${c.note ? ` (${c.note})` : ''}`,
  );
  const promoted = promotion?.promoted ? `promoted to ${promotion.alias}` : '';
  const labels = `commits: ${result.rows} (${result.mining.mined} newly mined), bug-inducing: ${result.positives} (SZZ from ${result.szz.fixes} new fixes; ${result.releaseLabelled} from failed releases and incident causes)`;
  if (result.unchanged) {
    return [`unchanged: risk-scorer version ${result.version.version} was trained on this training set (${result.trainingSet.digest.slice(0, 19)}); nothing registered`, labels, ...gates, promoted].filter(Boolean).join('\n');
  }
  const m = result.metrics!;
  const deploy = result.deploy!;
  return [
    `risk-scorer version ${result.version.version} (run ${result.runId})`,
    labels,
    `commits, holdout (newest 20%): AUC ${f3(m.auc)}, F1 ${m.f1.toFixed(3)}, precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}, riskiest 20% catch ${percent(m.caughtInRiskiest20)}`,
    `LApredict baseline, same ${m.testRows} rows: lines added alone AUC ${f3(m.baseline.la)}, logistic regression on them ${f3(m.baseline.logisticLa)}; the forest ${m.gainOverBaseline == null ? 'cannot be compared' : m.gainOverBaseline > 0 ? `beats it by ${m.gainOverBaseline.toFixed(3)}` : 'does NOT beat it'}`,
    deploy.skipped
      ? `deploys: no deploy-level model (${deploy.skipped})`
      : `deploys: ${deploy.metrics.deployTrainRows} past change sets (${deploy.metrics.deployReleaseRows} real releases), AUC on the later ${deploy.metrics.deployTestRows}: ${deploy.metrics.deployAuc?.toFixed(3) ?? 'n/a'}`,
    `training set ${result.trainingSet.digest.slice(0, 19)}: ${result.trainingSet.szzLabelled} rows labelled by SZZ (weight ${result.trainingSet.weights.szz}), ${result.trainingSet.releaseLabelled} by releases (weight ${result.trainingSet.weights.release})`,
    ...gates,
    promoted,
  ].filter(Boolean).join('\n');
}

export function registerRisk(program: Command): void {
  const risk = withHelp(program.command('risk').description('score the risk of shipping a set of commits, with a random forest trained on this repository'), {
    examples: ['ops risk train --promote production', 'ops risk score --service web --env production --gate', 'ops risk eval --csv ../shared/data/jit/*_k_feature.csv'],
  });

  risk
    .command('train')
    .description('mine commit features, label bug-inducing commits (SZZ, failed releases), train and register a risk-scorer version')
    .option('--repo <path>', 'the git repository (default: the project root)')
    .option('--promote <alias>', "then promote the new version to this alias, through the alias's gates")
    .option('--reason <text>', 'why (recorded with the promotion)')
    .option('--force', 'promote even if a gate fails (needs --reason)')
    .addHelpText('after', helpText({
      details: `The newest 20% of commits (by time) are held out for the metrics; the model, its metrics and
the training set (one row per commit, with its label) are stored and registered as
risk-scorer version N+1, with lineage to the training set.`,
      examples: [
        'ops risk train',
        'ops risk train --promote production --reason "weekly retrain"',
      ],
      exitCodes: { 0: 'trained and registered (and promoted with --promote)', 1: 'mining, labelling or training failed', 3: "--promote refused by the alias's gate (the version stays registered)" },
    }))
    .action(
      action<{ repo?: string; promote?: string; reason?: string; force?: boolean }>(async (ctx, out, options) => {
        const { trainRisk } = await import('../../core/risk/index.js');
        const result = await trainRisk(ctx, options.repo ?? ctx.root, { promoteTo: options.promote, reason: options.reason, force: options.force });
        for (const warning of result.warnings) ctx.output.warn(warning);
        const blocked = Boolean(options.promote && result.promotion && !result.promotion.promoted);
        if (options.json) {
          if (!blocked) out.json(result);
        } else out.result(trainingText(result));
        if (blocked) {
          throw new GateBlockedError(`risk-scorer@${result.version.version} was registered but not promoted to ${result.promotion!.alias}: its gate failed`, 'see `ops model promote` for the comparison, or pass --force --reason').withResult(result);
        }
      }),
    );

  risk
    .command('mine')
    .description("mine the commits the ledger does not have yet (features only; `train` also labels)")
    .option('--repo <path>', 'the git repository (default: the project root)')
    .option('--labels', 'then label bug-inducing commits: SZZ on new fixes, and failed releases')
    .addHelpText('after', helpText({
      details: `One \`git log\` pass over the commits since the last mined HEAD; the features of each (the 14 of
Kamei et al., the touched files' history and ownership, hashed tokens) are cached in the ledger by
sha, so a second run with no new commits reads nothing from git. Recorded as a run (\`ops runs list\`);
SZZ progress is saved every 32 fixes, so a killed \`--labels\` resumes where it stopped.`,
      examples: ['ops risk mine', 'ops risk mine --repo ../service --labels --json'],
      exitCodes: { 1: 'mining or labelling failed' },
    }))
    .action(
      action<{ repo?: string; labels?: boolean }>(async (ctx, out, options) => {
        const { mineRecorded } = await import('../../core/risk/index.js');
        const report = await mineRecorded(ctx, options.repo ?? ctx.root, Boolean(options.labels));
        if (options.json) out.json(report);
        else {
          const { mining, szz } = report;
          out.result(
            [
              `${mining.total} commits of ${mining.repo} in the ledger, ${mining.mined} newly mined (HEAD ${mining.head.slice(0, 12)}; run ${report.runId})`,
              szz ? `SZZ: ${szz.fixes} new fixes, ${szz.labelled} bug-inducing commits (${szz.seconds.toFixed(1)} s); ${report.releaseLabelled} from failed releases and incident causes` : '',
            ].filter(Boolean).join('\n'),
          );
        }
      }),
    );

  risk
    .command('labels')
    .description('show how commits were classified (fix, revert, bot, release, merge, other) and what SZZ labelled, to check risk.fixPattern')
    .option('--repo <path>', 'the git repository (default: the project root)')
    .option('--kind <kind...>', 'only these classes: fix, revert, bot, release, merge, other')
    .option('--limit <n>', 'commits shown per class, spread over the history (0: all)', '5')
    .option('--against <csv>', 'compare the bug-inducing labels with a published data set (commit ids in _id, labels in bug)')
    .option('--fixed-before <date>', 'with --against: count only labels from fixes committed before this date (when the data set was collected)')
    .addHelpText('after', helpText({
      details: `Mines and labels first (cached, as \`ops risk mine --labels\`). Each commit is a fix (with the rule
that matched), a revert (which labels the commit it reverts), a bot's commit or dependency update, a
release, a merge message, or other. A fix share outside 3-60% is flagged: tune risk.fixPattern or
risk.ticketKeys.`,
      examples: ['ops risk labels', 'ops risk labels --kind fix --limit 0 --json', 'ops risk labels --repo ../jdt --against ../shared/data/jit/jdt_k_feature.csv --fixed-before 2020-01-01'],
      exitCodes: { 0: 'shown', 1: 'mining or labelling failed, or the --against file could not be read' },
    }))
    .action(
      action<{ repo?: string; kind?: string[]; limit: string; against?: string; fixedBefore?: string }>(async (ctx, out, options) => {
        const kinds = ['fix', 'revert', 'bot', 'release', 'merge', 'other'] as const;
        const unknown = (options.kind ?? []).filter((k) => !(kinds as readonly string[]).includes(k));
        if (unknown.length) throw new UsageError(`--kind ${quote(unknown[0]!)} is not a class`, `give one of ${kinds.join(', ')}`);
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--limit must be a whole number, not ${quote(options.limit)}`, 'e.g. --limit 20 (0 shows all)');
        if (options.fixedBefore && !options.against) throw new UsageError('--fixed-before needs --against', 'e.g. --against jdt_k_feature.csv --fixed-before 2020-01-01');
        const { labelReport } = await import('../../core/risk/report.js');
        const report = await labelReport(ctx, options.repo ?? ctx.root, { limit, kinds: options.kind as (typeof kinds)[number][] | undefined, against: options.against, fixedBefore: options.fixedBefore });
        if (report.warning) ctx.output.warn(report.warning);
        if (options.json) {
          out.json(report);
          return;
        }
        const share = (n: number) => `${((100 * n) / Math.max(1, report.commits)).toFixed(1)}%`;
        const { szz } = report;
        const lines = [
          `${report.commits.toLocaleString('en-US')} commits of ${report.repo}: ${kinds.map((k) => `${k} ${report.classes[k].toLocaleString('en-US')} (${share(report.classes[k])})`).join(', ')}`,
          `fix share ${(report.fixShare * 100).toFixed(1)}% (fixes and reverts)`,
          `SZZ: ${szz.processed} fixes and reverts processed, ${szz.labelled.toLocaleString('en-US')} commits labelled bug-inducing (${(szz.share * 100).toFixed(1)}%); ${szz.skippedLarge} fixes skipped as too large; blamed but not labelled: ${szz.dropped.merges} merges, ${szz.dropped.notMined} other commits mining does not have, ${szz.dropped.afterReport} written after the bug's report`,
        ];
        for (const [kind, samples] of Object.entries(report.samples)) {
          if (!samples.length) continue;
          lines.push('', `${kind} (${samples.length} of ${report.classes[kind as (typeof kinds)[number]]}):`);
          for (const s of samples) {
            const found = s.skipped ? ` -> not blamed: ${s.skipped}` : s.labelled === undefined ? '' : ` -> ${s.labelled} bug-inducing`;
            lines.push(`  ${s.sha.slice(0, 10)}  ${s.subject.slice(0, 72)}  [${s.reason}]${found}`);
          }
        }
        const a = report.agreement;
        if (a) {
          const f3 = (v: number | null) => (v == null ? 'n/a' : v.toFixed(3));
          lines.push('', `against ${a.file}${a.fixedBefore ? ` (labels from fixes before ${a.fixedBefore})` : ''}: ${a.common.toLocaleString('en-US')} of its ${a.rows.toLocaleString('en-US')} commits mined; bug-inducing: ${a.published} published, ${a.ours} by ops, ${a.both} by both: precision ${f3(a.precision)}, recall ${f3(a.recall)}, kappa ${f3(a.kappa)}`);
        }
        out.result(lines.join('\n'));
      }),
    );

  risk
    .command('eval')
    .description('measure the scorer: train on the oldest 80% of a data set, test on the newest 20%')
    .option('--csv <files...>', 'data sets in the layout of the published JIT sets (date, bug and the 14 features)')
    .option('--repo <path>', 'a git repository, mined and SZZ-labelled by ops')
    .option('--threshold <p>', 'probability at or above which a commit counts as flagged, for F1, precision and recall', '0.5')
    .option('--seed <n>', 'seed of the forest', '1')
    .option('--trees <n>', "number of trees (default: the scorer's, 100)")
    .addHelpText('after', helpText({
      details: `Prints ROC AUC on the newest 20% (by date), F1, precision and recall at --threshold, and the
share of bug-inducing commits caught when the riskiest 20% are flagged. A data set's "__"
column (a copy of the label) is never read: only date, bug and the features are.`,
      examples: [
        'ops risk eval --csv ../shared/data/jit/*_k_feature.csv',
        'ops risk eval --repo . --json',
      ],
      exitCodes: { 0: 'evaluated', 1: 'the evaluation failed' },
    }))
    .action(
      action<{ csv?: string[]; repo?: string; threshold: string; seed: string; trees?: string }>(async (ctx, out, options) => {
        if (!options.csv === !options.repo) throw new UsageError('evaluate what? give --csv FILE... or --repo PATH (one of them)', 'e.g. `ops risk eval --repo .`');
        const threshold = Number(options.threshold);
        if (!(threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold must be a probability from 0 to 1, not ${quote(options.threshold)}`, 'e.g. --threshold 0.3');
        const { RISK_FOREST_PARAMS, baselineWarning, evaluateCsv } = await import('../../core/risk/evaluate.js');
        const seed = Number(options.seed);
        const nTrees = Number(options.trees ?? RISK_FOREST_PARAMS.nTrees);
        if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a whole number, not ${quote(options.seed)}`, 'e.g. --seed 7');
        if (!Number.isInteger(nTrees) || nTrees < 1) throw new UsageError(`--trees must be a positive whole number, not ${quote(options.trees)}`, 'e.g. --trees 300');
        const params = { ...RISK_FOREST_PARAMS, seed, nTrees };
        let results: Array<{ dataset: string; metrics: HoldoutMetrics }>;
        if (options.repo) {
          const { evaluateRepository } = await import('../../core/risk/index.js');
          const evaluation = await evaluateRepository(ctx, options.repo, threshold, params);
          results = [{ dataset: evaluation.repository, metrics: evaluation.metrics }];
        } else {
          results = [];
          for (const file of options.csv!) results.push(await ctx.output.step(`evaluating ${file}`, async () => evaluateCsv(file, ctx.cwd, params, threshold)));
        }
        const aucs = results.map((r) => r.metrics.auc).filter((a): a is number => a != null);
        const meanAuc = aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : null;
        if (options.json) {
          out.json({ params, threshold, results, meanAuc });
          return;
        }
        const mean = (values: Array<number | null>) => {
          const known = values.filter((v): v is number => v != null);
          return known.length ? known.reduce((a, b) => a + b, 0) / known.length : null;
        };
        const rows = results.map(({ dataset, metrics: m }) => [dataset, m.rows, m.testRows, percent(m.testPositives / m.testRows), f3(m.auc), f3(m.baseline.la), f3(m.f1), f3(m.precision), f3(m.recall), percent(m.caughtInRiskiest20)]);
        if (results.length > 1) rows.push(['mean', '', '', '', f3(meanAuc), f3(mean(results.map((r) => r.metrics.baseline.la))), '', '', '', '']);
        out.result(await out.table(['DATA SET', 'ROWS', 'TEST', 'BUGGY', 'AUC', 'LA AUC', 'F1', 'PRECISION', 'RECALL', 'CAUGHT@20%'], rows));
        for (const { dataset, metrics } of results) {
          const warning = baselineWarning(metrics);
          if (warning) ctx.output.warn(`${dataset}: ${warning}`);
        }
      }),
    );

  risk
    .command('score')
    .description('score a commit range, or what a deploy of a service would ship, with the promoted risk-scorer')
    .option('--range <A..B>', 'the commits to score')
    .option('--service <service>', 'score what a deploy would ship: commits since its live release...', nameFlag)
    .option('--env <env>', '...in this environment', nameFlag)
    .option('--repo <path>', 'the git repository (default: the project root)')
    .option('--gate', 'exit 3 when the probability is at or above risk.block')
    .addHelpText('after', helpText({
      details: `Prints the probability that the deploy fails, its level (low, medium, high from risk.warn and
risk.block) and the top reasons, from the per-feature contributions of the deploy-level forest:
the change set's commits (their own risks, files, lines, authors and their experience) and its
context (hour, weekday, time since the service's last deploy, its recent failures). A version
trained on too little history has no deploy stage: its riskiest commit's score is used. The
score is stored.`,
      examples: [
        'ops risk score --range v1.4.0..HEAD',
        'ops risk score --service web --env production --gate --json',
      ],
      exitCodes: { 0: 'scored (and stored)', 1: 'no risk-scorer version holds the alias', 3: '--gate: the probability is at or above risk.block' },
    }))
    .action(
      action<{ range?: string; service?: string; env?: string; repo?: string; gate?: boolean }>(async (ctx, out, options) => {
        const { deployRange, scoreRange } = await import('../../core/risk/index.js');
        let range = options.range;
        if (!range) {
          if (!options.service || !options.env) throw new UsageError('score what? give --range A..B, or --service and --env', 'e.g. `ops risk score --range main..HEAD`');
          const found = await deployRange(ctx, options.service, options.env);
          if ('reason' in found) throw new UsageError(`nothing to score for ${options.service} in ${options.env}: ${found.reason}`, 'give --range A..B');
          range = found.range;
        }
        const score = await scoreRange(ctx, options.repo ?? ctx.root, range, { service: options.service, env: options.env });
        const block = ctx.config?.risk.block ?? 0.8;
        const blocked = options.gate && score.probability >= block;
        if (options.json) {
          if (!blocked) out.json(score);
        }
        else {
          const colour = score.level === 'high' ? out.chalk.red : score.level === 'medium' ? out.chalk.yellow : out.chalk.green;
          out.result(
            [
              `${colour(`${score.level} risk ${percent(score.probability)}`)} for ${score.range} (${score.commits.length} commits, ${score.model})`,
              ...score.reasons.map((r) => `  - ${r}`),
            ].join('\n'),
          );
        }
        if (blocked) {
          throw new GateBlockedError(`risk ${percent(score.probability)} is at or above risk.block ${percent(block)}`, 'review the change, or deploy with --accept-risk "<reason>"').withResult(score);
        }
      }),
    );
}
