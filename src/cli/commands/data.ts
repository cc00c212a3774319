import type { Command } from 'commander';
import { Option } from 'commander';
import { ExitCode } from '../../errors.js';
import { action } from '../action.js';
import { helpText, withHelp } from '../help.js';

type DataFormat = 'csv' | 'jsonl' | 'parquet';
type ReportFormat = 'text' | 'markdown' | 'json';

interface ProfileFlags {
  inputFormat?: DataFormat;
  format?: ReportFormat;
}

interface CheckFlags extends ProfileFlags {
  suite?: string;
  against?: string;
}

const inputFormat = () => new Option('--input-format <format>', 'the data format (default: from the file name)').choices(['csv', 'jsonl', 'parquet']);
const reportFormat = () => new Option('--format <format>', 'report format (default: text, or json with --json)').choices(['text', 'markdown', 'json']);

export function registerData(program: Command): void {
  const data = withHelp(program.command('data').description('profile datasets, check them against expectations, and measure drift'), {
    examples: ['ops data profile data/churn.csv', 'ops data check data/new.csv --suite checks/churn.yaml --against data/train.csv'],
  });

  data
    .command('profile')
    .description('profile a dataset (CSV with a header, JSON Lines, Parquet; a file or a folder of them) in one streaming pass')
    .argument('<path>', 'a data file, or a folder whose files are one dataset')
    .addOption(inputFormat())
    .addOption(reportFormat())
    .option('--record', "keep the profile in the ledger by the dataset's digest (for `ops data check --against <digest>`)")
    .addHelpText('after', helpText({
      details: `Per column: inferred type, count, nulls, distinct values (exact up to 10,000, then HyperLogLog,
marked ~), min/max/mean/std, quantiles from a t-digest, a histogram, and the most frequent values.
Memory stays bounded whatever the file's size. A missing, unreadable or bad file (ragged rows,
invalid UTF-8, no header) is exit 2, named by row.`,
      examples: ['ops data profile data/churn.csv', 'ops data profile data/events/ --input-format parquet --json', 'ops data profile data/churn.csv --format markdown > profile.md', 'ops data profile data/train.csv --record'],
      exitCodes: { 0: 'profiled', 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action<ProfileFlags & { record?: boolean }, [string]>(async (ctx, out, options, path) => {
        const { profileDataset } = await import('../../core/data/index.js');
        const profile = await ctx.output.step(`profiling ${path}`, () => profileDataset({ path, cwd: ctx.cwd, format: options.inputFormat, now: () => ctx.clock.now() }));
        if (options.record) {
          await ctx.ledger().data.saveProfile(profile.source.digest, profile.rows, profile, ctx.clock.now());
          out.info(`recorded the profile of ${profile.source.digest}`);
        }
        const format = options.format ?? (options.json ? 'json' : 'text');
        if (format === 'json') return out.json(profile);
        const report = await import('../data-report.js');
        out.result(format === 'markdown' ? report.profileMarkdown(profile).trimEnd() : await report.profileText(out, profile));
      }, { readOnly: (options) => !options.record }),
    );

  data
    .command('check')
    .description("check a dataset against a suite of expectations, and its drift against a reference's profile")
    .argument('<path>', 'a data file, or a folder whose files are one dataset')
    .option('--suite <file>', 'expectations (YAML): rows, and per column present, type, notNull, range, allowed, unique, regex, freshness')
    .option('--against <reference>', 'measure drift against a data file, a recorded profile (sha256:<digest> or its first digits), or model@alias (its training data)')
    .addOption(inputFormat())
    .addOption(reportFormat())
    .addHelpText('after', helpText({
      details: `Drift per column, from the two profiles: numbers by PSI (>= 0.2) and Kolmogorov-Smirnov (D >= 0.1
with p < 0.05); categories by chi-squared (p < 0.05) with Jensen-Shannon distance (>= 0.1).
Thresholds can be set in the suite's drift: section. A bad file, suite or flag is exit 2.`,
      examples: [
        'ops data check data/new.csv --suite checks/churn.yaml',
        'ops data check data/new.csv --against data/train.csv',
        'ops data check data/new.csv --suite checks/churn.yaml --against data/train.csv --format markdown',
        'ops data check data/new.csv --against churn@production',
      ],
      exitCodes: { 0: 'every check passed and nothing drifted', 1: 'a check failed or a column drifted' },
    }))
    .action(
      action<CheckFlags, [string]>(async (ctx, out, options, path) => {
        const { checkDataset } = await import('../../core/data/index.js');
        const { loadSuite } = await import('../../core/data/suite.js');
        const now = () => ctx.clock.now();
        const suite = options.suite ? await loadSuite(options.suite, ctx.cwd) : null;
        const reference = options.against ? await (await import('../../core/models/training-data.js')).referenceProfile(ctx, options.against) : null;
        const report = await ctx.output.step(`checking ${path}`, () => checkDataset({ path, cwd: ctx.cwd, format: options.inputFormat, suite, reference, now }));
        const format = options.format ?? (options.json ? 'json' : 'text');
        if (format === 'json') {
          const { profile: _profile, ...rest } = report;
          out.json(rest);
        } else {
          const render = await import('../data-report.js');
          out.result(format === 'markdown' ? render.checkMarkdown(report).trimEnd() : await render.checkText(out, report));
        }
        return report.passed ? ExitCode.ok : ExitCode.failed;
      }, { readOnly: true }),
    );
}
