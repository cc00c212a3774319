import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../duration.js';

/** Names of services, environments and projects: they end up in labels, tags and lock names. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const name = z.string().regex(NAME_PATTERN, 'a lowercase name of letters, digits and dashes (like "web-api")');

/** A Docker image reference without tag: [registry[:port]/]path, lowercase. */
export const IMAGE_REPOSITORY_PATTERN =
  /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const imageRepository = z
  .string()
  .regex(IMAGE_REPOSITORY_PATTERN, 'an image repository such as "registry.local:5000/team/web" (no tag)');

/** "500ms", "30s", "10m", "1h", or a number of seconds; parsed to milliseconds (defaults too). */
const duration = z
  .union([z.number().nonnegative(), z.string().regex(DURATION_PATTERN, 'a duration such as "30s", "10m" or "500ms"')])
  .transform((value) => parseDuration(value)!);

const probability = z.number().min(0).max(1);

/** A shared secret in the config: long enough not to be guessed. */
const sharedSecret = z.string().min(16, 'a secret of at least 16 characters (e.g. `openssl rand -hex 24`)');

const healthCheck = z.strictObject({
  http: z
    .strictObject({
      path: z.string().startsWith('/').default('/'),
      port: z.number().int().min(1).max(65535),
      expectStatus: z.number().int().min(100).max(599).default(200),
    })
    .optional(),
  timeout: duration.default('60s'),
  interval: duration.default('1s'),
});

const service = z.strictObject({
  context: z.string().default('.'),
  dockerfile: z.string().default('Dockerfile'),
  image: imageRepository,
  target: z.string().optional(),
  buildArgs: z.record(z.string(), z.string()).default({}),
  ports: z.array(z.string().regex(/^\d+:\d+$/, 'a "host:container" port pair such as "8080:8080"')).default([]),
  env: z.record(z.string(), z.string()).default({}),
  resources: z.strictObject({ memory: z.string().regex(/^\d+[kmg]?$/i).optional(), cpus: z.number().positive().optional() }).optional(),
  health: healthCheck.optional(),
  /** Run an init process as PID 1 (docker --init), so the app gets SIGTERM and zombies are reaped. */
  init: z.boolean().default(true),
  stopTimeout: duration.default('10s'),
  dependsOn: z.array(name).default([]),
});

/** Which environments count as production for the delivery metrics (default: those named like prod). */
const production = z.boolean().optional();

const dockerEnvironment = z.strictObject({
  target: z.literal('docker'),
  production,
  host: z.string().optional(),
});

const kubernetesEnvironment = z.strictObject({
  target: z.literal('kubernetes'),
  production,
  context: z.string().optional(),
  namespace: name.default('default'),
  manifests: z.string().optional(),
  deadline: duration.default('10m'),
  autoRollback: z.boolean().default(true),
  /** Each kubectl call's limit: past it kubectl is stopped and the error says so. */
  timeout: duration.default('60s'),
});

const environment = z.discriminatedUnion('target', [dockerEnvironment, kubernetesEnvironment]);

export const MONITOR_WINDOW_PATTERN = /^(?:\d+(?:\.\d+)?[smhdw]|last:\d+)$/;

/** What every source shares: whose it is, and how many signals (or how long) before an incident opens. */
const sourceBase = {
  service: name,
  env: name,
  minCount: z.number().int().min(1).default(1),
  for: duration.default(0),
};

const watchSource = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('docker'), ...sourceBase }),
  z.strictObject({ type: z.literal('kubernetes'), ...sourceBase, selector: z.string().min(1).optional() }),
  z.strictObject({
    type: z.literal('http'),
    ...sourceBase,
    url: z.string().url(),
    expectStatus: z.number().int().min(100).max(599).default(200),
    latencyMs: z.number().positive().optional(),
    timeout: duration.default('5s'),
    failures: z.number().int().min(1).default(3),
  }),
  z.strictObject({
      type: z.literal('prometheus'),
      ...sourceBase,
      url: z.string().url(),
      query: z.string().min(1),
      threshold: z.number().optional(),
      /** Fire when the value is above (default) or below the threshold. */
      below: z.boolean().default(false),
      anomaly: z.boolean().default(false),
      /** How far back anomaly mode reads the series, and the detector score that fires. */
      window: duration.default('1h'),
      step: duration.default('30s'),
      anomalyScore: probability.default(0.5),
    }),
  z.strictObject({
    type: z.literal('model'),
    ...sourceBase,
    /** The live model: its logged predictions are compared with its training data (`ops model monitor`). */
    model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}@[a-z][a-z0-9_-]{0,63}$/, 'a model and alias such as "churn@production"'),
    /** The predictions compared (default: models.monitor.window). */
    window: z.string().regex(MONITOR_WINDOW_PATTERN, 'a time such as "7d" or "12h", or "last:1000" (the newest predictions)').optional(),
  }),
]).refine((source) => source.type !== 'prometheus' || source.threshold !== undefined || source.anomaly, {
  message: 'a prometheus source needs a threshold or anomaly: true',
});
/** MLflow's MetricThreshold: an absolute floor (or ceiling) and a minimum change against the alias's current holder. */
const metricGate = z
  .strictObject({
    metric: z.string().min(1),
    threshold: z.number().optional(),
    minAbsoluteChange: z.number().nonnegative().optional(),
    minRelativeChange: z.number().nonnegative().optional(),
    greaterIsBetter: z.boolean().default(true),
  })
  .refine((gate) => gate.threshold !== undefined || gate.minAbsoluteChange !== undefined || gate.minRelativeChange !== undefined, {
    message: 'a gate needs threshold, minAbsoluteChange or minRelativeChange',
  });
/** `- data: pass`: the checks of the candidate's training data (its suite, at `ops model train`) passed. */
const dataGate = z.strictObject({ data: z.literal('pass') });
const promotionGate = z.union([dataGate, metricGate]);

/** Gates apply to an alias of every model ("production") or of one ("risk-scorer@production"). */
const GATE_KEY_PATTERN = /^([A-Za-z0-9][A-Za-z0-9._-]*@)?[a-z][a-z0-9_-]*$/;

export const configSchema = z.strictObject({
  project: name,
  ledger: z.string().optional(),
  registry: z.strictObject({ url: z.string().min(1), insecure: z.boolean().default(false) }).optional(),
  services: z.record(name, service).default({}),
  environments: z.record(name, environment).default({}),
  risk: z
    .strictObject({
      warn: probability.default(0.5),
      block: probability.default(0.8),
      /** The alias of the `risk-scorer` model that scores deploys. */
      alias: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'an alias such as "production"').default('production'),
      /**
       * Commit messages matching this (case-sensitive) are bug fixes, for FIX and SZZ, instead of
       * the built-in rules (bots, releases, merges and reverts are still told apart first).
       */
      fixPattern: z
        .string()
        .refine((text) => {
          try {
            new RegExp(text);
            return true;
          } catch {
            return false;
          }
        }, 'a valid regular expression')
        .optional(),
      /** Issue-tracker project keys (OPS for OPS-12): a commit naming such a ticket is a fix. */
      ticketKeys: z.array(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'a project key in capitals, such as "OPS"')).default([]),
      /** A CSV of `id,reported` (issue #12 or ticket OPS-12, an ISO date): SZZ drops candidates written after their bug was reported. */
      bugReports: z.string().min(1).optional(),
      /** Sample weights of labelled commits in `ops risk train`, by where the label came from. */
      labelWeights: z
        .strictObject({ szz: z.number().min(0).default(1), revert: z.number().min(0).default(1), release: z.number().min(0).default(2) })
        .default({}),
    })
    .default({}),
  watch: z
    .strictObject({
      interval: duration.default('30s'),
      groupWindow: duration.default('5m'),
      correlationWindow: duration.default('1h'),
      resolveAfter: duration.default('5m'),
      sources: z.array(watchSource).default([]),
      /** The Alertmanager receiver of `ops watch --listen`: who may post, where, and how much. */
      listen: z
        .strictObject({
          path: z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'a URL path such as "/alerts"').default('/alerts'),
          /** Where predictions made elsewhere are posted (JSON Lines, as `ops model log` reads them). */
          predictions: z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'a URL path such as "/predictions"').default('/predictions'),
          /** Bearer token (Alertmanager: http_config.authorization.credentials); better OPS_WATCH__LISTEN__TOKEN. */
          token: sharedSecret.optional(),
          /** HTTP basic credentials (Alertmanager: http_config.basic_auth); the password better OPS_WATCH__LISTEN__PASSWORD. */
          username: z.string().min(1).optional(),
          password: sharedSecret.optional(),
          maxAlerts: z.number().int().min(1).default(500),
          incidentsPerMinute: z.number().int().min(1).default(30),
          maxConnections: z.number().int().min(1).default(64),
          headersTimeout: duration.default('10s'),
          requestTimeout: duration.default('15s'),
          keepAliveTimeout: duration.default('5s'),
        })
        .refine((l) => Boolean(l.username) === Boolean(l.password), { message: 'basic auth needs both username and password' })
        .refine((l) => l.path !== l.predictions, { message: 'path and predictions must be different paths' })
        .default({}),
      /** A Slack-compatible incoming webhook told of every open, ack and resolve. */
      notify: z
        .strictObject({
          webhook: z.string().url(),
          timeout: duration.default('5s'),
          retries: z.number().int().min(0).max(10).default(3),
        })
        .optional(),
    })
    .default({}),
  models: z
    .strictObject({
      /** `ops model monitor` and the watch's model sources: what counts as drift or decay of a live model. */
      monitor: z
        .strictObject({
          /** The predictions compared: those of the last "7d" (d, h, m, s), or the newest "last:1000". */
          window: z.string().regex(MONITOR_WINDOW_PATTERN, 'a time such as "7d" or "12h", or "last:1000" (the newest predictions)').default('7d'),
          /** Fewer logged predictions than this: too few to judge drift. */
          minRows: z.number().int().min(1).default(50),
          /** Fewer labelled predictions than this: too few to judge performance. */
          minLabels: z.number().int().min(1).default(30),
          /** Decay: the labelled rows' accuracy (R2 for a regression) this far below the version's held-out figure. */
          maxDrop: probability.default(0.05),
          // The drift thresholds, as `ops data check`'s.
          psi: z.number().positive().default(0.2),
          ks: z.number().positive().max(1).default(0.1),
          jensenShannon: z.number().positive().max(1).default(0.1),
          pValue: z.number().positive().max(1).default(0.05),
        })
        .default({}),
      gates: z.record(z.string().regex(GATE_KEY_PATTERN, 'an alias ("production") or a model and alias ("risk-scorer@production")'), z.array(promotionGate)).default({}),
    })
    .default({}),
});

export type OpsConfig = z.infer<typeof configSchema>;
export type ServiceConfig = OpsConfig['services'][string];
export type EnvironmentConfig = OpsConfig['environments'][string];
export type WatchSourceConfig = OpsConfig['watch']['sources'][number];
export type WatchConfig = OpsConfig['watch'];
export type PromotionGate = OpsConfig['models']['gates'][string][number];
export type MetricGate = Extract<PromotionGate, { metric: string }>;
export type MonitorConfig = OpsConfig['models']['monitor'];
