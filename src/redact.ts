/**
 * Secret scrubbing for everything ops stores or prints. Three layers, applied in this order:
 * values known to be secret (environment variables named like secrets, secret build arguments),
 * token shapes that are secret wherever they appear (after the gitleaks rule set), and values
 * that follow a secret-looking name (`DB_PASSWORD=...`, `"api_token": "..."`, `--token ...`).
 */

const MARK = '[REDACTED]';

/** A name whose value is a secret: it ends with one of these words (`GITHUB_TOKEN`, `db_password`, `_auth`). */
const SECRET_WORD =
  '(?:passw(?:or)?d|passphrase|(?<![A-Za-z])pass|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?|(?<![A-Za-z0-9])_?auth|[_.-]auth)';
const NAME_CHAR = '[A-Za-z0-9_.-]';
const SECRET_HINTS = ['pass', 'secret', 'token', 'key', 'credential', 'auth'];

/** Environment variable names whose values are scrubbed from everything (a path or a URL beside a secret is not one). */
const ENV_SECRET_NAME = new RegExp(`(?:secret|passw(?:or)?d|passphrase|token|credential|api_?key|access_?key|private_?key|^pass$|_pass$|(?:^|_)auth$)`, 'i');
const ENV_NOT_SECRET = /_(?:file|path|dir|url|uri|host|port|user|username|type)$/i;
/** Values too common to scrub wherever they appear. */
const COMMON_VALUES = new Set(['true', 'false', 'null', 'none', 'yes', 'no', 'on', 'off', 'enabled', 'disabled']);

/** A value that is a reference or a placeholder, not a secret ($VAR, ${VAR}, {{ secrets.X }}, already scrubbed). */
const NOT_A_VALUE = '(?!\\$\\{\\{|\\$\\{?[A-Za-z_]|\\{\\{|\\[REDACTED|\\*{3}|(?:true|false|null|none)(?![A-Za-z0-9_]))';

interface Rule {
  name: string;
  /** Lower-case words one of which the text must hold for the rule to be tried (most text holds none). */
  hints?: string[];
  /** Its matches may span lines. */
  multiline?: boolean;
  pattern: RegExp;
  replace: (match: string, ...groups: string[]) => string;
}

const whole = (label: string) => () => `[REDACTED ${label}]`;

/**
 * Token shapes, after gitleaks' rules (https://github.com/gitleaks/gitleaks, config/gitleaks.toml),
 * with minimum lengths relaxed: a shortened or test token is still redacted.
 */
const TOKEN_SHAPES: Array<[vendor: string, pattern: string]> = [
  ['github', '\\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{8,}'],
  ['github', '\\bgithub_pat_\\w{20,}'],
  ['gitlab', '\\b(?:glpat|gldt|glrt|glft|glsoat|glimt|glffct|glagent|gloas|glcbt)-[\\w-]{20,}'],
  ['aws', '\\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\\b'],
  ['slack', '\\bxox[abposre]-[A-Za-z0-9-]{8,}'],
  ['slack', '\\bxapp-\\d-[A-Za-z0-9-]{8,}'],
  ['google', '\\bAIza[\\w-]{35}'],
  ['stripe', '\\b(?:sk|rk|pk)_(?:test|live|prod)_[A-Za-z0-9]{10,}'],
  ['openai', '\\bsk-(?:proj|svcacct|admin)-[\\w-]{20,}'],
  ['openai', '\\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}'],
  ['anthropic', '\\bsk-ant-[a-z]+\\d*-[\\w-]{20,}'],
  ['npm', '\\bnpm_[A-Za-z0-9]{36}'],
  ['pypi', '\\bpypi-AgEIcHlwaS5vcmc[\\w-]{20,}'],
  ['huggingface', '\\b(?:hf|api_org)_[A-Za-z]{30,}'],
  ['docker', '\\bdckr_pat_[\\w-]{20,}'],
  ['sendgrid', '\\bSG\\.[\\w-]{16,}\\.[\\w-]{16,}'],
  ['vault', '\\bhv[sb]\\.[\\w-]{24,}'],
  ['digitalocean', '\\bdo[opr]_v1_[a-f0-9]{64}'],
  ['shopify', '\\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}'],
  ['grafana', '\\bgl(?:c|sa)_[A-Za-z0-9+/_]{32,}'],
  ['databricks', '\\bdapi[a-f0-9]{32}'],
  ['linear', '\\blin_api_[A-Za-z0-9]{40}'],
  ['planetscale', '\\bpscale_(?:tkn|oauth|pw)_[\\w=.-]{32,}'],
  ['postman', '\\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}'],
  ['pulumi', '\\bpul-[a-f0-9]{40}'],
  ['sentry', '\\bsntry[su]_[A-Za-z0-9+/=_]{40,}'],
  ['age', '\\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}'],
  ['square', '\\bsq0(?:atp|csp)-[\\w-]{22,}'],
  ['twilio', '\\bSK[0-9a-fA-F]{32}\\b'],
  ['alibaba', '\\bLTAI[A-Za-z0-9]{20}'],
  ['artifactory', '\\bAKCp[A-Za-z0-9]{69}'],
  ['atlassian', '\\bATATT3[A-Za-z0-9_=-]{100,}'],
  ['perplexity', '\\bpplx-[A-Za-z0-9]{48}'],
  ['flyio', '\\bfo1_[\\w-]{43}'],
  ['rubygems', '\\brubygems_[a-f0-9]{48}'],
  ['heroku', '\\bHRKU-AA[\\w-]{58}'],
  ['notion', '\\bntn_\\d{11}[A-Za-z0-9]{35}'],
  // A JSON Web Token: header and payload both start with `{"`, base64url-encoded.
  ['jwt', '\\bey[A-Za-z0-9_-]{10,}\\.ey[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]*'],
];

const RULES: Rule[] = [
  // PEM private keys, whole; an unterminated block is redacted to the end of the text.
  {
    name: 'private key', hints: ['private key'], multiline: true,
    pattern: /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|$)/g,
    replace: whole('PRIVATE KEY'),
  },
  // Webhook URLs whose path is the credential.
  {
    name: 'slack webhook', hints: ['hooks.slack.com'],
    pattern: /\b(hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9+/_-]{8,}/g,
    replace: (_m, host) => `${host}${MARK}`,
  },
  {
    name: 'discord webhook', hints: ['/webhooks/'],
    pattern: /\b((?:discord|discordapp)\.com\/api\/webhooks\/)\d+\/[\w-]+/g,
    replace: (_m, host) => `${host}${MARK}`,
  },
  {
    name: 'teams webhook', hints: ['webhook.office.com'],
    pattern: /\b(\.webhook\.office\.com\/webhookb2\/)[^\s"'\\]+/g,
    replace: (_m, host) => `${host}${MARK}`,
  },
  // One alternation for all token shapes: one pass over the text instead of one per shape.
  { name: 'token shapes', pattern: new RegExp(TOKEN_SHAPES.map(([, source]) => `(?:${source})`).join('|'), 'g'), replace: () => MARK },
  // Authorization: Bearer abc / Basic abc / a bare value (headers, curl -H, logs, escaped JSON).
  {
    name: 'authorization header', hints: ['authorization'],
    pattern: /\b((?:proxy-)?authorization\\{0,3}["']?[ \t]*[:=][ \t]*\\{0,3}["']?[ \t]*)(?:(bearer|basic|token|digest|negotiate)[ \t]+|(?!(?:bearer|basic|token|digest|negotiate)[ \t]))(?!\[REDACTED)[^\s"'\\,]+/gi,
    replace: (_m, head, scheme) => `${head}${scheme ? `${scheme} ` : ''}${MARK}`,
  },
  // user:password@ in URLs (also an empty user, `https://:pass@host`).
  {
    name: 'url password', hints: ['://'],
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'\\]*:)(?!\[REDACTED)[^\s@/"'\\]+@/gi,
    replace: (_m, head) => `${head}${MARK}@`,
  },
  // A token as the URL's user (`https://<token>@github.com`, a Sentry DSN): long enough not to be a login.
  {
    name: 'url token', hints: ['://'],
    pattern: /\b(https?:\/\/)[A-Za-z0-9_-]{20,}@/gi,
    replace: (_m, scheme) => `${scheme}${MARK}@`,
  },
  // MySQL-family clients take the password glued to -p (`mysql -uroot -phunter2`); sshpass takes -p PASS.
  {
    name: 'mysql -p', hints: ['mysql', 'mariadb'],
    pattern: /\b((?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlpump|mariadb|mariadb-dump)\b[^\n]*)/g,
    replace: (line) => line.replace(/((?:^|[\s"',])-p)(?!\[REDACTED)([^\s"'\\,]+)/g, `$1${MARK}`),
  },
  {
    name: 'sshpass -p', hints: ['sshpass'],
    pattern: /\b(sshpass\b[^\n]*?(?:^|[\s"',])-p(?:[ \t]+|"\s*,\s*")?\\?["']?)(?!\[REDACTED)[^\s"'\\,]+/g,
    replace: (_m, head) => `${head}${MARK}`,
  },
  // curl -u user:password
  {
    name: 'curl -u', hints: ['curl'],
    pattern: /\b(curl\b[^\n]*?[\s"',](?:-u|--user)(?:=|[ \t]+|"\s*,\s*")\\?["']?[^\s"':\\,]*:)(?!\[REDACTED)[^\s"'\\,]+/g,
    replace: (_m, head) => `${head}${MARK}`,
  },
  // A command-line flag named like a secret and its value: `--password hunter2`, `"--token","abc"`.
  {
    name: 'secret flag', hints: SECRET_HINTS,
    pattern: new RegExp(`((?:^|[\\s"'\\[,])--?${NAME_CHAR}*?${SECRET_WORD}(?![A-Za-z0-9_.-])(?:\\\\?["'])?(?:[ \\t]+|,[ \\t]*)(?:\\\\?["'])?)${NOT_A_VALUE}(?!-)([^\\s"'\\\\,]+)`, 'gi'),
    replace: (_m, head) => `${head}${MARK}`,
  },
  // NAME=value, name: value, "name": "value", {\"name\":\"value\"}, 'name' => 'value'.
  {
    name: 'secret name', hints: SECRET_HINTS,
    pattern: new RegExp(
      `((?<![A-Za-z0-9_.-])${NAME_CHAR}*?${SECRET_WORD}(?![A-Za-z0-9_.-])\\\\{0,3}["']?[ \\t]*(?::=|=>|=|:)[ \\t]*)` +
        // quoted value: up to its closing quote; bare value: up to a space or a delimiter
        `(?:(\\\\{0,3}["'])${NOT_A_VALUE}(?:[^"'\\n\\\\]|\\\\\\\\|\\\\(?!["']))+|${NOT_A_VALUE}[^\\s"'\\\\,;&}\\])<>]+)`,
      'gi',
    ),
    replace: (_m, head, quote) => `${head}${quote ?? ''}${MARK}`,
  },
];

export function isSecretName(name: string): boolean {
  return ENV_SECRET_NAME.test(name) && !ENV_NOT_SECRET.test(name);
}

/** Values of environment variables whose names look like secrets, worth scrubbing from any output. */
export function secretValuesFromEnv(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([name, value]) => isSecretName(name) && value !== undefined && value.length >= 4 && !COMMON_VALUES.has(value.toLowerCase()))
    .map(([, value]) => value as string);
}

let formsCache: { of: readonly string[]; count: number; forms: string[] } | undefined;

/** The forms a known secret takes in stored text: as is, and escaped inside a JSON string (once or twice). */
function knownForms(secrets: readonly string[]): string[] {
  // The list grows (secret build arguments are added to it), so the cache is keyed by its length too.
  if (formsCache?.of === secrets && formsCache.count === secrets.length) return formsCache.forms;
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    const once = JSON.stringify(secret).slice(1, -1);
    forms.add(once);
    forms.add(JSON.stringify(once).slice(1, -1));
  }
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  formsCache = { of: secrets, count: secrets.length, forms: sorted };
  return sorted;
}

/** Scrub secrets from text before it is stored or printed. */
export function redact(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  if (knownSecrets.length) for (const form of knownForms(knownSecrets)) if (out.includes(form)) out = out.split(form).join(MARK);
  const lower = out.toLowerCase();
  for (const rule of RULES) {
    if (rule.hints && !rule.hints.some((hint) => lower.includes(hint))) continue;
    out = out.replace(rule.pattern, rule.replace as (substring: string, ...args: any[]) => string);
  }
  return out;
}

/**
 * Where each known secret and each rule matches in `text` (raw, before any replacement), looking
 * only from `from` on, but for rules whose matches span lines.
 */
function secretSpans(text: string, from: number, knownSecrets: readonly string[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const forms = knownForms(knownSecrets);
  const region = text.slice(Math.max(0, from - (forms[0]?.length ?? 0)));
  const offset = text.length - region.length;
  for (const form of forms) {
    for (let at = region.indexOf(form); at !== -1; at = region.indexOf(form, at + 1)) spans.push([offset + at, offset + at + form.length]);
  }
  const lower = region.toLowerCase();
  for (const rule of RULES) {
    const scanned = rule.multiline ? text : region;
    if (rule.hints && !rule.hints.some((hint) => (rule.multiline ? scanned.toLowerCase() : lower).includes(hint))) continue;
    const base = rule.multiline ? 0 : offset;
    for (const m of scanned.matchAll(rule.pattern)) spans.push([base + m.index, base + m.index + m[0].length]);
  }
  return spans;
}

/** Longest unterminated line kept back; a longer line is let out but for its last part. */
const MIN_TAIL = 4096;
/** Past this much held text (an unterminated private key block that never ends), let it out redacted. */
const MAX_HOLD = 1024 * 1024;
/** Held text is let out after this long without new output, so that prompts and progress still show... */
const IDLE_FLUSH_MS = 150;
/** ...but for a last word that may be the start of a token, let out only after this long. */
const IDLE_WORD_FLUSH_MS = 1000;
const TRAILING_WORD = /[A-Za-z0-9_.+/=:@-]{4,}$/;

/**
 * Redact a stream rather than its chunks: a secret split across two chunks is still one secret.
 * Complete lines go out at once; the current line is held back (up to a tail long enough for any
 * secret) until its end, more output, or a short pause; a match reaching the held part waits for it.
 */
export class RedactionStream {
  private carry = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly knownSecrets: readonly string[],
    private readonly emit: (text: string) => void,
    private readonly idleFlushMs = IDLE_FLUSH_MS,
    private readonly idleWordFlushMs = IDLE_WORD_FLUSH_MS,
  ) {}

  write(chunk: string): void {
    const text = this.carry + chunk;
    const tail = this.tail();
    const lineEnd = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r')) + 1;
    let cut = text.length - lineEnd > tail ? text.length - tail : lineEnd;
    cut = this.safeCut(text, cut);
    if (cut === 0 && text.length > MAX_HOLD) cut = text.length;
    this.let(text, cut);
  }

  /** How much of an unterminated line is held: enough for any secret. */
  private tail(): number {
    return this.knownSecrets.reduce((max, secret) => Math.max(max, secret.length * 2), MIN_TAIL);
  }

  /** Let out everything held (end of the stream). */
  end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.carry) this.emit(redact(this.carry, this.knownSecrets));
    this.carry = '';
  }

  private let(text: string, cut: number): void {
    if (cut > 0) this.emit(redact(text.slice(0, cut), this.knownSecrets));
    this.carry = text.slice(cut);
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.carry) this.timer = setTimeout(() => this.idleFlush(false), this.idleFlushMs).unref();
  }

  /**
   * After a pause: let out all but a match that reaches the end (it may go on in the next chunk)
   * and, the first time, a last word that may be the first part of a token.
   */
  private idleFlush(wholeWord: boolean): void {
    const text = this.carry;
    const word = wholeWord ? null : TRAILING_WORD.exec(text);
    const cut = this.safeCut(text, word ? word.index : text.length);
    if (cut > 0) this.emit(redact(text.slice(0, cut), this.knownSecrets));
    this.carry = text.slice(cut);
    this.timer = this.carry && !wholeWord ? setTimeout(() => this.idleFlush(true), this.idleWordFlushMs).unref() : undefined;
  }

  /** Move `cut` back so that no match straddles it or reaches the end of what is held. */
  private safeCut(text: string, cut: number): number {
    // Only a match that spans lines can straddle a line end; others start on the cut's line, within a tail.
    const lineStart = Math.max(text.lastIndexOf('\n', cut - 1), text.lastIndexOf('\r', cut - 1)) + 1;
    const spans = secretSpans(text, Math.max(lineStart, cut - this.tail()), this.knownSecrets).sort((a, b) => b[0] - a[0]);
    for (const [start, end] of spans) {
      if (start < cut && (end > cut || end === text.length)) cut = start;
    }
    return cut;
  }
}
