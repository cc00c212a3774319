// Triage of a live model's signals: the drifted features named with their statistics, the remedy a retrain.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Evidence } from '../src/core/triage/evidence.js';
import { diagnose } from '../src/core/triage/rules.js';

function modelEvidence(resource: string, decay: boolean): Evidence {
  const window = { text: '7d', since: null, rows: 400, versionRows: 400, labelled: 400 };
  const signals: Evidence['signals'] = [
    {
      condition: 'model-drift',
      resource,
      message: `${resource} (v3): feature tenure drifted`,
      count: 2,
      cleared: false,
      details: {
        version: 3,
        window,
        reference: { digest: 'sha256:ab', rows: 600 },
        drifted: [{ column: 'tenure', tests: [{ test: 'psi', statistic: 2.9, pValue: null, threshold: 0.2, drifted: true }, { test: 'ks', statistic: 0.56, pValue: 1.4e-52, threshold: 0.1, drifted: true }] }],
        prediction: { tests: [{ test: 'chi-squared', statistic: 9.4, pValue: 0.0022, threshold: 0.05, drifted: true }] },
      },
    },
  ];
  if (decay) {
    signals.push({ condition: 'model-decay', resource, message: 'accuracy fell', count: 1, cleared: false, details: { version: 3, window, performance: { metric: 'accuracy', current: 0.61, baseline: 0.86, labelled: 400, maxDrop: 0.05, degraded: true } } });
  }
  return {
    incident: { id: 9, service: 'churn-api', env: 'prod', condition: 'model-drift', title: 'churn-api in prod: model-drift', state: 'open', severity: 'warning', beganAt: Date.UTC(2026, 2, 1), cause: null, causeRelease: null, resolvedBy: null },
    target: 'unknown',
    signals,
    containers: [],
    kubernetes: null,
    images: [],
    releases: [],
    modelMoves: [],
    configChanges: [],
    correlationWindowMs: 3600_000,
    calls: [],
  };
}

describe('ops triage: a live model that drifted or decayed', () => {
  it('names the drifted features with their statistics and proposes the retrain through the gates', () => {
    const [top, ...others] = diagnose(modelEvidence('churn@production', true));
    assert.deepEqual(others, []);
    assert.equal(top!.cause, 'model-drift');
    assert.equal(top!.title, 'model drift: churn@production v3: tenure (psi 2.9, ks 0.56), accuracy 0.61 vs held-out 0.86');
    assert.deepEqual(top!.evidence, [
      'feature tenure drifted: psi 2.9 >= 0.2, ks 0.56 >= 0.1 (p 1.4e-52) on 400 predictions (7d) vs 600 training rows',
      'predictions drifted from the held-out predictions: chi-squared 9.4 (p 0.0022 < 0.05)',
      "accuracy 0.61 on 400 labelled predictions, 0.86 on v3's held-out rows (maxDrop 0.05)",
    ]);
    assert.deepEqual(top!.actions, [{ n: 1, title: 'retrain churn on recent data and promote it to production through the gates', command: 'ops model retrain churn@production', spec: { kind: 'model-retrain', model: 'churn', alias: 'production' } }]);
  });

  it('retrains the risk scorer on the repository\'s recent history', () => {
    const [top] = diagnose(modelEvidence('risk-scorer@production', false));
    assert.equal(top!.title, 'model drift: risk-scorer@production v3: tenure (psi 2.9, ks 0.56)');
    assert.deepEqual(top!.actions.map((a) => [a.command, a.spec]), [['ops risk train --promote production', { kind: 'risk-retrain', alias: 'production' }]]);
  });
});
