import type { Context } from '../../context.js';
import type { WatchSourceConfig } from '../../config/schema.js';
import type { CheckResult, Signal } from '../types.js';

type ModelSource = Extract<WatchSourceConfig, { type: 'model' }>;

/**
 * `ops model monitor` of a live model: drift of its inputs or predictions is one signal, decay of
 * its accuracy on labelled predictions another; each carries the statistics triage names.
 */
export async function checkModel(ctx: Context, source: ModelSource): Promise<CheckResult> {
  const { monitorModel } = await import('../../models/monitor.js');
  const { parseModelRef } = await import('../../models/refs.js');
  const report = await monitorModel(ctx, parseModelRef(source.model), { window: source.window });
  const signals: Signal[] = [];
  const label = `${source.model} (v${report.version})`;
  const drifted = report.features.filter((f) => f.drifted);
  if (report.driftProblems.length > 0) {
    signals.push({
      condition: 'model-drift',
      resource: source.model,
      severity: 'warning',
      message: `${label}: ${report.driftProblems.join('; ')}`,
      details: {
        model: report.model,
        alias: report.alias,
        version: report.version,
        window: report.window,
        reference: report.reference,
        drifted: drifted.map((f) => ({ column: f.column, tests: f.tests.filter((t) => t.drifted), ...(f.note ? { note: f.note } : {}) })),
        prediction: report.prediction?.drifted ? { tests: report.prediction.tests.filter((t) => t.drifted) } : null,
      },
    });
  }
  if (report.performance?.degraded) {
    const perf = report.performance;
    signals.push({
      condition: 'model-decay',
      resource: source.model,
      severity: 'critical',
      message: `${label}: ${perf.metric} ${perf.current} on ${perf.labelled} labelled predictions, held-out ${perf.baseline} (maxDrop ${perf.maxDrop})`,
      details: { model: report.model, alias: report.alias, version: report.version, window: report.window, performance: perf },
    });
  }
  return { signals };
}
