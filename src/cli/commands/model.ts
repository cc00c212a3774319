import type { Command } from 'commander';
import { ExitCode, GateBlockedError, quote, UsageError } from '../../errors.js';
import type { GateCheck, Promotion } from '../../core/models/registry.js';
import type { TrainingResult } from '../../core/models/train.js';
import type { ModelVersion } from '../../ledger/index.js';
import { action } from '../action.js';
import { helpText, withHelp } from '../help.js';
import type { CliOutput } from '../output.js';
import { collect, fieldFormatter, formatDuration, formatTime as when, positiveInt } from '../format.js';

interface TrainFlags {
  data?: string[];
  target?: string;
  features?: string;
  param?: string[];
  split?: string;
  task?: 'auto' | 'classification' | 'regression';
  register?: boolean;
  suite?: string;
  allowBadData?: string;
}

// Static: the registry's queries are light (SQLite only), and a dynamic import costs a module round trip.
import * as refs from '../../core/models/refs.js';
import * as registry from '../../core/models/registry.js';
const number = (value: unknown) => (typeof value === 'number' ? Number(value.toPrecision(4)).toString() : value == null ? '-' : String(value));
const metricsText = (metrics: Record<string, number> | null, limit = 4) =>
  metrics ? Object.entries(metrics).slice(0, limit).map(([k, v]) => `${k}=${number(v)}`).join(' ') : '-';

async function printTraining(out: CliOutput, result: TrainingResult, registered: ModelVersion | null, json: boolean | undefined): Promise<number> {
  if (json) {
    out.json({ ...result, registered });
  } else if (result.status === 'succeeded') {
    const lines = [`run ${result.runId} succeeded`];
    if (result.metrics) lines.push(`metrics: ${metricsText(result.metrics, 20)}`);
    lines.push(`artifacts: ${result.artifacts.map((a) => a.path).join(', ') || '(none)'}`);
    for (const d of result.datasets) lines.push(`dataset: ${d.path} ${d.digest}`);
    for (const c of result.dataChecks) lines.push(`data checks: ${c.suite} ${c.passed ? 'passed' : `FAILED (${c.failed.length}), used anyway: ${c.override}`}`);
    lines.push(registered ? `registered ${registered.model} version ${registered.version}` : `register it: ops model register <name> --run ${result.runId}`);
    out.result(lines.join('\n'));
  }
  if (result.status !== 'succeeded') {
    process.stderr.write(`${out.chalk.red('error:')} training run ${result.runId} failed: ${result.error ?? 'unknown error'}\n`);
    return ExitCode.failed;
  }
  return ExitCode.ok;
}

async function gateTable(out: CliOutput, promotion: Promotion): Promise<string> {
  return out.table(
    ['METRIC', `CANDIDATE v${promotion.candidate}`, promotion.baseline ? `CURRENT v${promotion.baseline}` : 'CURRENT', 'RULE', 'RESULT'],
    promotion.checks.map((c: GateCheck) => [
      c.metric,
      number(c.candidate),
      number(c.baseline),
      c.rule,
      `${c.passed ? out.chalk.green('pass') : out.chalk.red('FAIL')}${c.note ? ` (${c.note})` : ''}`,
    ]),
  );
}

/**
 * `ops model`'s subcommands; only the one being run is defined (all of them for help or an unknown
 * name), since defining options and help texts is a measurable part of a short command's start-up.
 */
export function registerModel(program: Command, subcommand?: string): void {
  const model = withHelp(program.command('model').description('train, register, promote, trace and monitor models (runs, datasets, versions, aliases, lineage, live predictions, retraining)'), {
    examples: ['ops model train churn --data data/churn.csv --target churned --register', 'ops model promote churn@2 --to production', 'ops model list'],
  });

  for (const [name, define] of Object.entries(SUBCOMMANDS)) if (!subcommand || !(subcommand in SUBCOMMANDS) || name === subcommand) define(model);
}

const SUBCOMMANDS: Record<string, (model: Command) => void> = {
  train: (model) =>
    model
      .command('train')
      .description('train a model: the built-in random forest on a CSV, or any command after --')
      .argument('<name>', 'the model this run trains')
      .argument('[command...]', 'an external training command, after --')
      .option('--data <path>', 'training data (a file or folder; repeat for several); recorded by digest', collect)
      .option('--target <column>', 'built-in: the column to predict')
      .option('--features <columns>', 'built-in: comma-separated feature columns (default: every other column)')
      .option('--param <key=value>', 'a parameter (built-in: nTrees, maxDepth, minSamplesLeaf, minSamplesSplit, maxFeatures, maxBins, bootstrap, seed)', collect)
      .option('--split <how>', 'built-in holdout: time:<column>[:fraction] (newest rows test) or random[:fraction]', undefined)
      .option('--task <task>', 'built-in: auto, classification or regression', 'auto')
      .option('--suite <file>', 'expectations (YAML, as `ops data check`) the training data must pass; the outcome is recorded for the `data: pass` gate')
      .option('--allow-bad-data <reason>', 'train on data that fails --suite all the same (the reason is recorded)')
      .option('--register', 'register the trained model as a new version when the run succeeds')
      .addHelpText('after', helpText({
        details: `Built-in training evaluates on the holdout (AUC, accuracy, F1, precision, recall; RMSE, MAE,
R2 for a numeric target) and stores model.json. An external command gets OPS_RUN_ID,
OPS_ARTIFACT_DIR, OPS_PARAMS (JSON) and OPS_DATA in its environment; on exit 0 ops collects
metrics.json, params.json and every file it wrote to OPS_ARTIFACT_DIR. Each --data file or folder
of CSV, JSON Lines or Parquet is profiled into the ledger by digest; with --suite a dataset that
fails its checks stops the training (exit 3) unless --allow-bad-data "<reason>" is given.`,
        examples: [
          'ops model train churn --data data/churn.csv --target churned --split time:signup_date',
          'ops model train churn --data data/churn.csv --target churned --param nTrees=300 --register',
          'ops model train churn --data data/ --param lr=0.1 -- python3 train.py',
          'ops model train churn --data data/churn.csv --target churned --suite checks/churn.yaml --register',
        ],
        exitCodes: { 0: 'trained (and registered with --register)', 1: 'the training run failed', 3: 'the training data fails --suite (see --allow-bad-data)' },
      }))
      .action(
        action<TrainFlags, [string, string[]]>(async (ctx, out, options, name, command) => {
          const train = await import('../../core/models/train.js');
          const params = train.parseParams(options.param ?? []);
          const data = options.data ?? [];
          if (!['auto', 'classification', 'regression'].includes(options.task ?? 'auto')) {
            throw new UsageError(`--task ${quote(options.task)} is not known`, 'use auto, classification or regression');
          }
          let result: TrainingResult;
          if (command.length > 0) {
            if (options.target || options.features || options.split) throw new UsageError('--target, --features and --split are for built-in training', 'leave them out when a command trains the model');
            result = await train.trainExternal(ctx, name, command, { params, data, suite: options.suite, allowBadData: options.allowBadData });
          } else {
            if (!options.target || data.length !== 1) {
              throw new UsageError('built-in training needs one --data file and --target', 'e.g. `ops model train churn --data churn.csv --target churned`, or give a command after --');
            }
            result = await train.trainBuiltin(ctx, name, {
              data: data[0]!,
              target: options.target,
              features: options.features?.split(',').map((f) => f.trim()).filter(Boolean),
              params,
              split: options.split,
              task: options.task,
              suite: options.suite,
              allowBadData: options.allowBadData,
            });
          }
          const registered = options.register && result.status === 'succeeded' ? await registry.registerVersion(ctx, name, { runId: result.runId }) : null;
          return printTraining(out, result, registered, options.json);
        }),
      ),

  register: (model) =>
    model
      .command('register')
      .description('register a new version (N+1) of a model from a training run or a file/folder')
      .argument('<name>', 'model name')
      .option('--run <id>', 'a succeeded training run', positiveInt)
      .option('--artifact <path>', 'a model file or folder made elsewhere')
      .addHelpText('after', helpText({
        examples: [
          'ops model register churn --run 42',
          'ops model register churn --artifact ./export/model.onnx --json',
        ],
        exitCodes: { 1: 'no such run, or it did not succeed or stored no artifacts' },
      }))
      .action(
        action<{ run?: number; artifact?: string }, [string]>(async (ctx, out, options, name) => {
          const version = await registry.registerVersion(ctx, name, { runId: options.run, artifact: options.artifact });
          if (options.json) return out.json(version);
          out.result(`registered ${version.model} version ${version.version}${version.runId ? ` from run ${version.runId}` : ''} (${version.artifactDigest})`);
        }),
      ),

  promote: (model) =>
    model
      .command('promote')
      .description("point an alias (production, staging, champion, ...) at a version, through the alias's gates")
      .argument('<model@version>', 'the candidate: name@3, name@staging or name (latest)')
      .requiredOption('--to <alias>', 'the alias to move')
      .option('--reason <text>', 'why (recorded with the move)')
      .option('--force', 'move even if a gate fails (needs --reason; recorded as forced)')
      .addHelpText('after', helpText({
        details: `Gates come from models.gates in the config, by "<model>@<alias>" or "<alias>": an absolute
threshold and a minimum absolute or relative change against the alias's current holder
(MLflow's MetricThreshold); \`- data: pass\` requires the suite run on the candidate's training data
(\`ops model train --suite\`) to have passed. A blocked promotion prints the comparison and exits 3.`,
        examples: [
          'ops model promote churn@4 --to production --reason "beats v3 on AUC"',
          'ops model promote churn@staging --to production',
          'ops model promote churn@5 --to production --force --reason "hotfix approved by on-call"',
        ],
        exitCodes: { 0: 'promoted, or the alias already pointed there', 1: 'no such model, version or alias', 3: "blocked by the alias's promotion gate" },
      }))
      .action(
        action<{ to: string; reason?: string; force?: boolean }, [string]>(async (ctx, out, options, refText) => {
          const ref = refs.parseModelRef(refText);
          const promotion = await registry.promote(ctx, ref, options.to, { reason: options.reason, force: options.force });
          if (!promotion.promoted) {
            if (!options.json && promotion.checks.length) out.result(await gateTable(out, promotion));
            throw new GateBlockedError(`promotion of ${promotion.model}@${promotion.candidate} to ${promotion.alias} blocked by its gate`, 'improve the model, or pass --force --reason "<why>" (recorded)').withResult(promotion);
          }
          if (options.json) out.json(promotion);
          else if (promotion.checks.length) out.result(await gateTable(out, promotion));
          const target = `${promotion.model}@${promotion.alias}`;
          if (!promotion.event) out.info(`${target} already points at version ${promotion.candidate}`);
          else if (promotion.forced) out.warn(`${target} now points at version ${promotion.candidate} (gate overridden: ${options.reason})`);
          else out.info(`${target} now points at version ${promotion.candidate}${promotion.baseline ? ` (was ${promotion.baseline})` : ''}`);
        }),
      ),

  rollback: (model) =>
    model
      .command('rollback')
      .description('move an alias back to the version that held it before its last move')
      .argument('<name>', 'model name')
      .requiredOption('--alias <alias>', 'the alias to move back')
      .option('--to <version>', 'a specific version instead of the previous holder', positiveInt)
      .option('--reason <text>', 'why (recorded with the move)')
      .addHelpText('after', helpText({
        examples: [
          'ops model rollback churn --alias production',
          'ops model rollback churn --alias production --to 2 --reason "v4 drifts on new data"',
        ],
        exitCodes: { 1: 'no such model or alias, or no earlier holder' },
      }))
      .action(
        action<{ alias: string; to?: number; reason?: string }, [string]>(async (ctx, out, options, name) => {
          const event = await registry.rollbackAlias(ctx, name, options.alias, { to: options.to, reason: options.reason });
          if (options.json) return out.json(event);
          out.info(`${name}@${event.alias} now points at version ${event.toVersion} (was ${event.fromVersion})`);
        }),
      ),

  list: (model) =>
    model
      .command('list')
      .description('list registered models with their latest version and aliases')
      .addHelpText('after', helpText({
        examples: ['ops model list', 'ops model list --json'],
        exitCodes: { 0: 'listed (also when no model is registered)', 1: 'an unexpected failure (details with --verbose)' },
      }))
      .action(
        action<object>(async (ctx, out, options) => {
          const models = await registry.listModels(ctx);
          if (options.json) return out.json(models);
          if (models.length === 0) return out.info('no models registered yet');
          out.result(
            await out.table(
              ['MODEL', 'VERSIONS', 'LATEST', 'ALIASES', 'UPDATED'],
              models.map((m) => [m.name, m.versions, m.latestVersion, Object.entries(m.aliases).map(([a, v]) => `${a}=v${v}`).join(' ') || '-', when(m.latestAt)]),
            ),
          );
        }, { readOnly: true }),
      ),

  show: (model) =>
    model
      .command('show')
      .description('show a model (its versions and aliases) or one version (run, metrics, params, datasets, files)')
      .argument('<ref>', 'name, name@version, name@alias or name@latest')
      .option('--limit <n>', 'versions to list for a model', positiveInt, 20)
      .addHelpText('after', helpText({
        examples: ['ops model show churn', 'ops model show churn@production --json'],
        exitCodes: { 1: 'no such model, version or alias' },
      }))
      .action(
        action<{ limit: number }, [string]>(async (ctx, out, options, refText) => {
          const ref = refs.parseModelRef(refText);
          if (ref.version === undefined && ref.alias === undefined) {
            const shown = await registry.showModel(ctx, ref.name, options.limit);
            if (options.json) return out.json(shown);
            const aliases = Object.entries(shown.model.aliases).map(([a, v]) => `${a}=v${v}`).join(' ') || '-';
            out.result(
              [
                `${out.chalk.bold(shown.model.name)}: ${shown.model.versions} versions; aliases: ${aliases}`,
                await out.table(
                  ['VERSION', 'CREATED', 'RUN', 'ALIASES', 'METRICS'],
                  shown.versions.map((v) => [v.version, when(v.createdAt), v.runId, v.aliases.join(',') || '-', metricsText(v.metrics)]),
                ),
              ].join('\n'),
            );
            return;
          }
          const details = await registry.versionDetails(ctx, await refs.resolveVersion(ctx.ledger(), ref));
          if (options.json) return out.json(details);
          const field = fieldFormatter(out.chalk, 10);
          const run = details.run;
          out.result(
            [
              field('model', `${details.model} version ${details.version}`),
              field('aliases', details.aliases.join(', ') || '-'),
              field('created', `${when(details.createdAt)} by ${details.actor ?? '-'}`),
              field('source', details.source),
              field('run', run ? `${run.id} (${run.status}, ${formatDuration(run.durationMs)})` : null),
              field('git', run?.git.sha ? `${run.git.sha} on ${run.git.branch ?? '(detached)'}${run.git.dirty ? ' (dirty)' : ''}` : null),
              field('metrics', metricsText(details.metrics, 50)),
              field('params', details.params ? Object.entries(details.params).map(([k, v]) => `${k}=${v}`).join(' ') : null),
              ...details.datasets.map((d) => field('dataset', `${d.path} ${d.digest}`)),
              ...details.dataChecks.map((c) => field('checks', c.passed ? `${c.suite} passed` : `${c.suite} FAILED: ${c.failed.join('; ')}${c.override ? `; used anyway: ${c.override}` : ''}`)),
              field('artifact', details.artifactDigest),
              ...details.files.map((f) => field('  file', `${f.path} (${f.sizeBytes} bytes)`)),
            ].join('\n'),
          );
        }, { readOnly: true }),
      ),

  history: (model) =>
    model
      .command('history')
      .description('alias moves, newest first: which version held an alias, from when until when, moved by whom and why')
      .argument('<name>', 'model name')
      .option('--alias <alias>', 'only this alias')
      .option('--limit <n>', 'at most this many moves', positiveInt, 50)
      .addHelpText('after', helpText({
        examples: ['ops model history churn --alias production', 'ops model history churn --json'],
        exitCodes: { 0: 'listed (also when the alias never moved)', 1: 'no such model' },
      }))
      .action(
        action<{ alias?: string; limit: number }, [string]>(async (ctx, out, options, name) => {
          const events = await registry.aliasHistory(ctx, name, options.alias, options.limit);
          if (options.json) return out.json(events);
          if (events.length === 0) return out.info(`no alias of ${name} has been set yet`);
          out.result(
            await out.table(
              ['ALIAS', 'VERSION', 'FROM', 'UNTIL', 'PREVIOUS', 'BY', 'REASON'],
              events.map((e) => [e.alias, e.toVersion, when(e.at), e.until ? when(e.until) : 'now', e.fromVersion, e.actor, `${e.forced ? 'FORCED: ' : ''}${e.reason ?? '-'}`]),
            ),
          );
        }, { readOnly: true }),
      ),

  lineage: (model) =>
    model
      .command('lineage')
      .description('upstream (run, datasets, commit) and downstream (risk scores, releases) of a version, or the models trained on a dataset')
      .argument('[ref]', 'name@version or name@alias')
      .option('--dataset <digest>', 'the reverse: versions trained on this dataset (sha256:... or its first digits)')
      .option('--limit <n>', 'downstream uses to list', positiveInt, 20)
      .addHelpText('after', helpText({
        examples: [
          'ops model lineage churn@3',
          'ops model lineage --dataset sha256:9f86d081 --json',
        ],
        exitCodes: { 1: 'no such model, version, alias or dataset' },
      }))
      .action(
        action<{ dataset?: string; limit: number }, [string | undefined]>(async (ctx, out, options, refText) => {
          if ((refText === undefined) === (options.dataset === undefined)) throw new UsageError('give a model version or --dataset, not both', 'e.g. `ops model lineage churn@3`');
          if (options.dataset) {
            const found = await registry.datasetLineage(ctx, options.dataset);
            if (options.json) return out.json(found);
            out.result(
              [
                `dataset ${found.dataset.digest} (${found.dataset.kind} ${found.dataset.path}, ${found.dataset.sizeBytes} bytes)`,
                found.versions.length
                  ? await out.table(['MODEL', 'VERSION', 'RUN', 'ALIASES', 'CREATED'], found.versions.map((v) => [v.model, v.version, v.runId, v.aliases.join(',') || '-', when(v.createdAt)]))
                  : 'no registered version was trained on it',
              ].join('\n'),
            );
            return;
          }
          const found = await registry.lineage(ctx, refs.parseModelRef(refText!), options.limit);
          if (options.json) return out.json(found);
          const { version, upstream, downstream } = found;
          const lines = [`${out.chalk.bold(`${version.model}@${version.version}`)} (${version.source ?? '-'})`, out.chalk.bold('upstream')];
          if (upstream.run) {
            const run = upstream.run;
            lines.push(`  run ${run.id}: ${run.status}, ${run.argv.join(' ')}`);
            if (upstream.commit?.sha) lines.push(`  commit ${upstream.commit.sha} on ${upstream.commit.branch ?? '(detached)'}${upstream.commit.dirty ? ` (dirty, diff ${upstream.commit.dirtyHash ?? '?'})` : ''}`);
            for (const d of upstream.datasets) lines.push(`  dataset ${d.digest} ${d.path}`);
          } else lines.push('  registered from a file, not a run');
          lines.push(out.chalk.bold('downstream'));
          if (downstream.riskScores.length === 0 && downstream.releases.length === 0) lines.push('  not used yet');
          for (const s of downstream.riskScores) lines.push(`  risk score ${s.id}: ${s.service ?? '-'}/${s.env ?? '-'} p=${s.probability.toFixed(2)} ${s.level} at ${when(s.createdAt)}`);
          for (const r of downstream.releases) lines.push(`  release ${r.id}: ${r.service} r${r.revision} to ${r.env} (${r.status}) at ${when(r.createdAt)}`);
          out.result(lines.join('\n'));
        }, { readOnly: true }),
      ),

  diff: (model) =>
    model
      .command('diff')
      .description('two versions side by side: params, metrics (with deltas) and datasets')
      .argument('<a>', 'name@version or name@alias')
      .argument('<b>', 'name@version or name@alias')
      .addHelpText('after', helpText({
        examples: [
          'ops model diff churn@3 churn@4',
          'ops model diff churn@production churn@staging --json',
        ],
        exitCodes: { 1: 'no such model, version or alias' },
      }))
      .action(
        action<object, [string, string]>(async (ctx, out, options, a, b) => {
          const { parseModelRef } = refs;
          const diff = await registry.diffVersions(ctx, parseModelRef(a), parseModelRef(b));
          if (options.json) return out.json(diff);
          const sections: string[] = [];
          for (const [title, rows] of [['params', diff.params], ['metrics', diff.metrics], ['datasets', diff.datasets]] as const) {
            if (rows.length === 0) continue;
            sections.push(
              out.chalk.bold(title),
              await out.table(
                ['', diff.a, diff.b, 'CHANGE'],
                rows.map((r) => [r.key, number(r.a), number(r.b), r.delta !== undefined ? `${r.delta >= 0 ? '+' : ''}${number(r.delta)}` : r.same ? '' : 'changed']),
              ),
            );
          }
          out.result(sections.join('\n') || 'nothing recorded to compare');
        }, { readOnly: true }),
      ),

  verify: (model) =>
    model
      .command('verify')
      .description("re-hash a version's stored files against the digests in the ledger")
      .argument('<ref>', 'name@version or name@alias')
      .addHelpText('after', helpText({
        examples: ['ops model verify churn@production'],
        exitCodes: { 0: 'every file matches its digest', 1: 'no such version, or a file is missing or corrupt' },
      }))
      .action(
        action<object, [string]>(async (ctx, out, options, refText) => {
          const { version, files } = await registry.verifyVersion(ctx, refs.parseModelRef(refText));
          if (options.json) return out.json({ model: version.model, version: version.version, files, ok: true });
          out.result(`${version.model}@${version.version}: ${files.length} files match their digests`);
        }, { readOnly: true }),
      ),

  predict: (model) =>
    model
      .command('predict')
      .description('predict every row of a CSV with a built-in model version')
      .argument('<ref>', 'name@version or name@alias')
      .requiredOption('--data <file>', 'CSV with the columns the model was trained on')
      .option('--log', 'record each row\'s inputs and prediction against the version, for `ops model monitor`')
      .option('--id-column <column>', 'with --log: the column holding each row\'s id, for delayed labels (`ops model label`)')
      .addHelpText('after', helpText({
        details: `Prints CSV (prediction, then one probability column per class) or --json.`,
        examples: ['ops model predict churn@production --data new-customers.csv > scored.csv', 'ops model predict churn@production --data today.csv --log --id-column customer'],
        exitCodes: { 1: 'no such version, or it holds no built-in model' },
      }))
      .action(
        action<{ data: string; log?: boolean; idColumn?: string }, [string]>(async (ctx, out, options, refText) => {
          const { predictCsv } = await import('../../core/models/predict.js');
          const { logged, ...predictions } = await predictCsv(ctx, refs.parseModelRef(refText), options.data, { log: options.log, idColumn: options.idColumn });
          if (logged !== null) out.info(`logged ${logged} predictions of ${predictions.model}${logged < predictions.rows.length ? ` (${predictions.rows.length - logged} ids were logged before)` : ''}`);
          if (options.json) return out.json(logged === null ? predictions : { ...predictions, logged });
          out.result([predictions.columns.join(','), ...predictions.rows.map((r) => r.join(','))].join('\n'));
        }, { readOnly: (options) => !options.log }),
      ),

  log: (model) =>
    model
      .command('log')
      .description('record predictions made elsewhere (JSON Lines: inputs, prediction, optional id and time) for `ops model monitor`')
      .argument('<file>', 'JSON Lines: {"id": "c-17", "inputs": {...}, "prediction": "yes", "at": "2026-03-01T12:00:00Z", "model": "churn@3"}')
      .option('--model <ref>', 'the version for lines without "model": name@version or name@alias')
      .addHelpText('after', helpText({
        details: `"id" and "at" are optional: an id lets \`ops model label\` attach the true outcome later, and a
line whose id the model already has is skipped. The file is read as append-only: run again, only
the lines written since are recorded (a file that was replaced or truncated is read from its start;
a last line still being written is left for the next run). Every line is checked before any is
recorded: a bad line is exit 2, named by its number.`,
        examples: ['ops model log predictions.jsonl --model churn@production', 'ops model log batch.jsonl --json'],
        exitCodes: { 1: 'no such model, version or alias' },
      }))
      .action(
        action<{ model?: string }, [string]>(async (ctx, out, options, file) => {
          const { logPredictions } = await import('../../core/models/predictions.js');
          const outcome = await logPredictions(ctx, file, options.model);
          if (options.json) return out.json(outcome);
          const from = outcome.fromLine > 1 ? ` from line ${outcome.fromLine} (the earlier lines were read before)` : '';
          out.result(`logged ${outcome.logged} predictions of ${outcome.versions.join(', ') || '(none)'}${from}${outcome.duplicates ? `; ${outcome.duplicates} ids were logged before` : ''}`);
        }),
      ),

  monitor: (model) =>
    model
      .command('monitor')
      .description("compare a live model's logged predictions with its training data: feature drift, prediction drift, accuracy on labels")
      .argument('<ref>', 'name@alias (or name@version)')
      .option('--window <window>', 'the predictions compared: the last 7d, 12h, 30m..., or last:1000 (default: models.monitor.window, 7d)')
      .addHelpText('after', helpText({
        details: `Feature drift: the window's logged inputs (of every version of the model) against the profile
of the version's training data, per feature by PSI (>= 0.2) and Kolmogorov-Smirnov (D >= 0.1, p <
0.05), categories by chi-squared with Jensen-Shannon (>= 0.1). Prediction drift: the version's
predictions in the window against its predictions on its own held-out rows. Performance: accuracy
(R2 for a regression) on the labelled predictions against the version's held-out figure, decayed
when lower by more than maxDrop (0.05). Thresholds, minRows and minLabels in models.monitor.`,
        examples: ['ops model monitor churn@production', 'ops model monitor churn@production --window 24h --json', 'ops model monitor churn@production --window last:5000'],
        exitCodes: { 0: 'nothing past its threshold (or too few predictions to judge)', 1: 'drift or decay past a threshold, or no such model, alias or training profile' },
      }))
      .action(
        action<{ window?: string }, [string]>(async (ctx, out, options, refText) => {
          const { monitorModel } = await import('../../core/models/monitor.js');
          const report = await monitorModel(ctx, refs.parseModelRef(refText), { window: options.window });
          if (options.json) out.json(report);
          else {
            const verdict = (bad: boolean) => (bad ? out.chalk.red('DRIFT') : out.chalk.green('ok'));
            const tests = (d: { tests: Array<{ test: string; statistic: number; pValue: number | null }>; note?: string }) =>
              d.tests.map((t) => `${t.test} ${number(t.statistic)}${t.pValue !== null ? ` (p ${number(t.pValue)})` : ''}`).join(', ') || d.note || '-';
            const limits = (d: { tests: Array<{ test: string; threshold: number }> }) => d.tests.map((t) => `${t.test === 'chi-squared' ? 'p <' : '>='} ${t.threshold}`).join(', ') || '-';
            const rows: Array<Array<string | number | null>> = report.features.map((d) => [`feature ${d.column}`, tests(d), limits(d), verdict(d.drifted)]);
            if (report.prediction) rows.push(['predictions', tests(report.prediction), limits(report.prediction), verdict(report.prediction.drifted)]);
            const perf = report.performance;
            if (perf) {
              rows.push([
                perf.metric,
                `${number(perf.current)} on ${perf.labelled} labelled (held-out ${number(perf.baseline)})`,
                `drop <= ${perf.maxDrop}`,
                perf.degraded ? out.chalk.red('DECAY') : out.chalk.green('ok'),
              ]);
            }
            const head = `${report.model}@${report.alias ?? report.version} (v${report.version}): ${report.window.rows} predictions in ${report.window.text} (${report.window.versionRows} of v${report.version}, ${report.window.labelled} labelled) against ${report.reference.rows} training rows`;
            const lines = [head];
            if (rows.length) lines.push(await out.table(['CHECK', 'STATISTIC', 'THRESHOLD', 'RESULT'], rows));
            for (const note of report.notes) lines.push(`note: ${note}`);
            lines.push(report.healthy ? 'nothing past its threshold' : `${report.problems.length} past threshold: ${report.problems.join('; ')}`);
            out.result(lines.join('\n'));
          }
          return report.healthy ? ExitCode.ok : ExitCode.failed;
        }, { readOnly: true }),
      ),

  retrain: (model) =>
    model
      .command('retrain')
      .description("retrain the version an alias holds on recent data (the window's labelled predictions) and promote it through the gates")
      .argument('<model@alias>', 'the live model, e.g. churn@production')
      .option('--window <window>', 'the predictions trained on: the last 7d, 12h, ..., or last:1000 (default: models.monitor.window)')
      .option('--reason <text>', 'why (recorded with the alias move; default: what it was retrained on)')
      .addHelpText('after', helpText({
        details: `The recent data is every labelled prediction of the model in the window (its logged inputs
and the outcome \`ops model label\` attached), written to .ops/datasets/ and recorded by digest. The
new run repeats the version's recipe: target, features, parameters, the holdout fraction and the
suite its data passed. The new version is registered and promoted through the alias's gates; a
blocked promotion leaves the alias where it was and exits 3.`,
        examples: ['ops model retrain churn@production', 'ops model retrain churn@production --window 30d --json'],
        exitCodes: { 0: 'retrained, registered and promoted', 1: 'too few labelled predictions, or training failed', 3: "the new version is blocked by the alias's gate (or its data by the suite)" },
      }))
      .action(
        action<{ window?: string; reason?: string }, [string]>(async (ctx, out, options, refText) => {
          const { retrainModel } = await import('../../core/models/retrain.js');
          const result = await retrainModel(ctx, refs.parseModelRef(refText), { window: options.window, reason: options.reason });
          if (options.json) return out.json(result);
          const lines = [
            `retrained ${result.model} on ${result.data.rows} recent labelled predictions (${result.data.path}): run ${result.training.runId}, ${metricsText(result.training.metrics)}`,
            `registered ${result.model} version ${result.registered.version}`,
          ];
          if (result.promotion.checks.length) lines.push(await gateTable(out, result.promotion));
          out.result(lines.join('\n'));
          out.info(`${result.model}@${result.alias} now points at version ${result.registered.version} (was ${result.from})`);
        }),
      ),

  label: (model) =>
    model
      .command('label')
      .description('attach delayed labels (the true outcomes) to logged predictions by their id')
      .argument('<file>', 'JSON Lines: {"id": "c-17", "label": "no"}')
      .option('--model <name>', 'only this model\'s predictions (default: any model with the id, or the line\'s "model")')
      .addHelpText('after', helpText({
        details: `\`ops model monitor\` scores the labelled predictions of a window against the version's own
held-out figure. Ids that match no logged prediction are counted and named in a warning; a bad
line is exit 2, named by its number, and no label is recorded.`,
        examples: ['ops model label outcomes.jsonl --model churn'],
        exitCodes: { 0: 'labels recorded (unknown ids are warned about)', 1: 'an unexpected failure (details with --verbose)' },
      }))
      .action(
        action<{ model?: string }, [string]>(async (ctx, out, options, file) => {
          const { labelPredictions } = await import('../../core/models/predictions.js');
          const outcome = await labelPredictions(ctx, file, options.model);
          if (options.json) return out.json(outcome);
          out.result(`labelled ${outcome.labelled} predictions${outcome.unknownCount ? `; ${outcome.unknownCount} ids matched none` : ''}`);
        }),
      ),
};
