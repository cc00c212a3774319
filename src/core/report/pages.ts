import type { Context } from '../context.js';
import type { Hypothesis } from '../triage/rules.js';

/** The log lines a run page shows (the newest). */
const LOG_LINES = 400;

/** A release with its build, risk score, commits and incidents. */
export async function releasePage(ctx: Context, id: number) {
  const ledger = ctx.ledger();
  const release = await ledger.releases.byId(id);
  if (!release) return undefined;
  const [build, score, changes, incidentIds] = await Promise.all([
    ledger.metrics.buildOfImage(release.image),
    release.risk.scoreId != null ? ledger.metrics.riskScore(release.risk.scoreId) : undefined,
    ledger.metrics.changesOf(id),
    ledger.metrics.incidentsOfReleases([id]),
  ]);
  const incidents = [];
  for (const incidentId of incidentIds.get(id) ?? []) {
    const incident = await ledger.incidents.get(incidentId);
    if (incident) incidents.push(incident);
  }
  return { release, build: build ?? null, score: score ?? null, changes, incidents };
}

/** An incident with its suspects, triage and timeline. */
export async function incidentPage(ctx: Context, id: number) {
  const ledger = ctx.ledger();
  const incident = await ledger.incidents.get(id);
  if (!incident) return undefined;
  const suspects = [];
  for (const suspect of await ledger.incidents.suspects(id)) suspects.push({ ...suspect, release: (await ledger.releases.byId(suspect.releaseId)) ?? null });
  const report = await ledger.triage.latest<unknown, Hypothesis[]>(id);
  return {
    incident,
    suspects,
    triage: report ? { id: report.id, actor: report.actor, createdAt: report.createdAt, hypotheses: report.hypotheses } : null,
    actions: await ledger.triage.actions(id),
    events: await ledger.incidents.events(id),
    signals: await ledger.incidents.signalsOf(id),
  };
}

/** A model version with its run, datasets, commit and alias history. */
export async function versionPage(ctx: Context, model: string, version: number) {
  const ledger = ctx.ledger();
  const found = await ledger.models.version(model, version);
  if (!found) return undefined;
  const run = found.runId != null ? ((await ledger.runs.get(found.runId)) ?? null) : null;
  const datasets = found.runId != null ? await ledger.models.runDatasets(found.runId) : [];
  const events = (await ledger.models.aliasEvents(model, undefined, 200)).filter((e) => e.toVersion === version || e.fromVersion === version);
  return { version: found, run, datasets, events, uses: await ledger.models.uses(found.id, 20) };
}

/** A run with its log tail, and what it produced. */
export async function runPage(ctx: Context, id: number) {
  const ledger = ctx.ledger();
  const run = await ledger.runs.get(id);
  if (!run) return undefined;
  const logs = await ledger.runs.logs(id);
  return {
    run,
    log: logs.slice(-LOG_LINES).map((l) => l.text).join(''),
    logTruncated: logs.length > LOG_LINES,
    builds: await ledger.builds.forRun(id),
    releases: await ledger.metrics.releasesOfRun(id),
    versions: await ledger.models.versionsOfRun(id),
    artifacts: await ledger.models.runArtifacts(id),
    datasets: await ledger.models.runDatasets(id),
  };
}
