/**
 * Which commits are bug fixes, from their messages: the input of SZZ and the FIX feature. Built to
 * hold on GitHub-style histories (conventional commits, squash-merged pull requests "(#123)",
 * dependency bots) and on issue-tracker histories ("Bug 12345 - ...", "Fixes OPS-12").
 */

export type CommitKind = 'fix' | 'revert' | 'bot' | 'release' | 'merge' | 'other';

export interface Classification {
  kind: CommitKind;
  /** Why: the rule that decided, with the text it matched. */
  reason: string;
  /** A revert's target, as written in its message (a full or abbreviated sha). */
  reverts?: string;
  /** A revert without a sha: the reverted commit's subject, as quoted by `Revert "..."`. */
  revertsSubject?: string;
  /** Issue or ticket references of a fix (#12, OPS-12), for its bugs' report dates. */
  references?: string[];
}

export interface FixRules {
  /** `risk.fixPattern`: when set, the message matching it is what makes a fix. */
  pattern: RegExp | null;
  /** `risk.ticketKeys`: tracker project keys whose tickets (KEY-12) name bugs. */
  ticketKeys: string[];
}

/** Fixes and reverts are corrective: they make the FIX feature and SZZ's input. */
export const isCorrective = (kind: CommitKind) => kind === 'fix' || kind === 'revert';

const BOT_AUTHOR = /\[bot\]|^(dependabot|renovate|greenkeeper|snyk-bot|github-actions|pre-commit-ci|allcontributors|semantic-release-bot|mergify|imgbot|depfu)\b|@(dependabot|renovate|greenkeeper)\b/i;
/** Dependency updates, whoever wrote them: "Bump x from 1 to 2", "chore(deps): update y", renovate's "Update dependency z". */
const BUMP = /^deps:\s|^\w+\s?\(deps(?:-dev)?\)|^(?:\w+(?:\([^)]*\))?!?:\s*)?(?:bump|update|upgrade)s?\b.*\b(?:from|to)\s+v?\d|^(?:\w+(?:\([^)]*\))?!?:\s*)?(?:bump|update|upgrade)s?\s+(?:all\s+|the\s+)?(?:deps|dependencies|dev-?dependencies|lock ?files?|[\w.-]+\.lock|package-lock\.json|yarn\.lock|go\.(?:mod|sum)|requirements)\b|^(?:bump|update) (?:the )?[\w./@-]+ group\b|^\[snyk\]|^update dependency\b/i;
const RELEASE = /^(?:v?\d+(?:\.\d+){1,3}(?:[-+.][\w.]+)?|(?:release|releasing|released|version|prepare(?:d)?(?: for)?(?: the)? release|bump(?:ed)? version(?: to)?|version bump(?: to)?|tag(?:ged)?|cut)\s*:?\s*v?\d+(?:\.\d+)+\S*.*|(?:chore|build)\(release\)!?:.*|release(?:\([^)]*\))?!?:.*|\[maven-release-plugin\].*|(?:back to|start(?:ing)?|begin) (?:the )?(?:next )?development.*|update (?:the )?(?:changelog|changes|history)(?: for| to)?(?: v?\d+(?:\.\d+)+)?\.?|changelog(?: for v?\d+(?:\.\d+)+)?\.?|(?:update|bump) version(?: number)?\.?)$/i;
const MERGE_SUBJECT = /^merge (?:pull request|branch|remote-tracking branch|tag|commit|changes|(?:'|")[^'"]+(?:'|") into)\b|^merged? (?:in )?(?:from )?\S+ into \S+/i;
const REVERT = /^revert\b:?\s*(?:"(.+)"|'(.+)'|(.*))$/i;
const REVERTS_SHA = /\bthis reverts(?: commit)? ([0-9a-f]{7,40})\b/i;
/** Conventional commits' types; only fix (and its spellings) is corrective. */
const CONVENTIONAL = /^(\w+)(?:\([^)]*\))?!?:\s/;
const CONVENTIONAL_FIX = new Set(['fix', 'fixes', 'fixed', 'bugfix', 'hotfix']);
const CONVENTIONAL_OTHER = new Set(['feat', 'feature', 'docs', 'doc', 'chore', 'refactor', 'test', 'tests', 'style', 'ci', 'build', 'perf', 'revert', 'release', 'deps', 'wip', 'types', 'typo', 'lint', 'example', 'examples', 'infra', 'meta', 'bench', 'i18n', 'l10n', 'security']);
/** A fix of something that is not code behaviour: its SZZ blame would name documentation or formatting. */
const COSMETIC_FIX = /\b(?:fix(?:e[sd]|ing)?|correct(?:s|ed)?)\s+(?:(?:a|an|the|some|several|few|more|minor|small|broken|wrong|bad|typos? in)\s+)*(?:typos?|typographical|spelling|grammar|wording|whitespace|white space|indentation|formatting|format|style|lint(?:ing)?|linter|flake8|pylint|eslint|pep ?8|docs?|documentation|docstrings?|comments?|readme|changelog|links?|urls?|badges?|copyright|license|headers?|imports? order|ci|travis|appveyor|build badge|tests?|test suite|flaky tests?|typings?|type hints?|mypy|warnings?)\b/i;
/** Words that make a subject a fix on their own. */
const FIX_VERBS = /\b(?:fix(?:e[sd]|ing)?|bug ?fix(?:es|ed)?|hot ?fix(?:es|ed)?)\b/i;
const BUG_WORDS = /\b(?:bugs?|defects?|crash(?:es|ed|ing)?|regressions?|deadlocks?|segfaults?|npe|nullpointerexception)\b/i;
/** Words of trouble that make a fix only with a corrective verb ("prevent a leak", "handle the error"). */
const TROUBLE_WORDS = /\b(?:faults?|broken|incorrect(?:ly)?|wrong(?:ly)?|mistakes?|errors?|fails?|failures?|failing|issues?|problems?|leaks?|race conditions?|exceptions?|hangs?|overflows?)\b/i;
const CORRECTIVE_VERBS = /\b(?:correct(?:s|ed)?|prevent(?:s|ed)?|handle[sd]?|avoid(?:s|ed)?|repair(?:s|ed)?|resolve[sd]?|address(?:es|ed)?|work ?around)\b/i;
/** GitHub's closing keywords with an issue reference, anywhere in the message. */
const CLOSES = /\b(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\s*:?\s+((?:[\w.-]+\/[\w.-]+)?#\d+|gh-\d+|https?:\/\/\S+\/issues\/\d+)/i;
/** Gerrit's and Chromium's bug footer, Eclipse's "Bug 12345" subjects. */
const BUG_FOOTER = /^bug:\s*(?:issue\s*)?#?(\w[\w-]*)/im;
const TRACKER_BUG = /^\[?bug\s*:?\s*#?(\d{3,})\]?\b/i;
const ISSUE_REFERENCE = /(?:[\w.-]+\/[\w.-]+)?#\d+|\bgh-\d+\b/gi;

/** The first line of a message. */
export const subjectOf = (message: string) => message.split('\n', 1)[0]!.trim();

function ticketPattern(keys: string[]): RegExp | null {
  const valid = keys.filter((k) => /^[A-Z][A-Z0-9_]*$/.test(k));
  return valid.length ? new RegExp(String.raw`\b(?:${valid.join('|')})-\d+\b`, 'g') : null;
}

const cache = new WeakMap<FixRules, RegExp | null>();

function tickets(rules: FixRules): RegExp | null {
  if (!cache.has(rules)) cache.set(rules, ticketPattern(rules.ticketKeys));
  return cache.get(rules)!;
}

function ticketIn(message: string, rules: FixRules): string | null {
  const pattern = tickets(rules);
  if (!pattern) return null;
  pattern.lastIndex = 0;
  return pattern.exec(message)?.[0] ?? null;
}

/** A fix of documentation, formatting or tests rather than behaviour, unless a bug word says otherwise. */
function cosmetic(text: string): string | null {
  const match = COSMETIC_FIX.exec(text);
  return match && !BUG_WORDS.test(text) ? match[0] : null;
}

/** Decide what a commit is from its message and author email. */
export function classifyCommit(message: string, author: string, rules: FixRules): Classification {
  const subject = subjectOf(message);
  if (MERGE_SUBJECT.test(subject)) return { kind: 'merge', reason: 'a merge message' };
  const revert = REVERT.exec(subject);
  if (revert) {
    const sha = REVERTS_SHA.exec(message)?.[1];
    const quoted = (revert[1] ?? revert[2] ?? revert[3] ?? '').replace(/\s*\(#\d+\)$/, '').trim();
    if (sha) return { kind: 'revert', reason: `reverts ${sha.slice(0, 12)}`, reverts: sha };
    if (quoted) return { kind: 'revert', reason: `reverts "${quoted.slice(0, 60)}"`, revertsSubject: quoted };
  }
  if (BOT_AUTHOR.test(author)) return { kind: 'bot', reason: `a bot's commit (${author})` };
  if (BUMP.test(subject)) return { kind: 'bot', reason: 'a dependency update' };
  // A pull request number is no evidence of a fix: the subject is judged without it.
  const text = subject.replace(/\s*\((?:#\d+(?:,\s*)?)+\)\s*$/, '').trim();
  if (RELEASE.test(text)) return { kind: 'release', reason: 'a release or version commit' };
  const ticket = ticketIn(message, rules);

  if (rules.pattern) {
    const match = rules.pattern.exec(message);
    if (match) return fix(`risk.fixPattern matched "${match[0].slice(0, 40)}"`, message, rules);
    if (ticket) return fix(`ticket ${ticket}`, message, rules);
    return { kind: 'other', reason: 'risk.fixPattern did not match' };
  }

  const conventional = CONVENTIONAL.exec(text);
  if (conventional) {
    const type = conventional[1]!.toLowerCase();
    const description = text.slice(conventional[0].length);
    if (CONVENTIONAL_FIX.has(type)) {
      const trivial = cosmetic(`fix ${description}`);
      return trivial ? { kind: 'other', reason: `a cosmetic ${type}: (${trivial})` } : fix(`conventional commit ${conventional[0].trim()}`, message, rules);
    }
    if (CONVENTIONAL_OTHER.has(type)) return { kind: 'other', reason: `conventional commit ${type}:` };
  }

  // "Fixes #12" is a fix; "closes #12" closes pull requests and features too, so it needs a word of trouble.
  const closes = CLOSES.exec(message);
  if (closes && (!/^close/i.test(closes[0]) || BUG_WORDS.test(text) || TROUBLE_WORDS.test(text) || FIX_VERBS.test(text))) return fix(`"${closes[0]}"`, message, rules);
  const tracker = TRACKER_BUG.exec(text) ?? BUG_FOOTER.exec(message);
  if (tracker) return fix(`bug ${tracker[1]}`, message, rules);
  if (ticket) return fix(`ticket ${ticket}`, message, rules);
  const bug = BUG_WORDS.exec(text);
  if (bug) return fix(`"${bug[0]}" in the subject`, message, rules);
  const verb = FIX_VERBS.exec(text);
  if (verb) {
    const trivial = cosmetic(text);
    return trivial ? { kind: 'other', reason: `a cosmetic fix (${trivial})` } : fix(`"${verb[0]}" in the subject`, message, rules);
  }
  const trouble = TROUBLE_WORDS.exec(text);
  const corrective = CORRECTIVE_VERBS.exec(text);
  if (trouble && corrective) return fix(`"${corrective[0]} ... ${trouble[0]}" in the subject`, message, rules);
  if (/\(#\d+\)\s*$/.test(subject)) return { kind: 'other', reason: 'a pull request number alone is no fix' };
  return { kind: 'other', reason: 'no fix words' };
}

function fix(reason: string, message: string, rules: FixRules): Classification {
  const references = new Set<string>();
  for (const match of message.matchAll(ISSUE_REFERENCE)) references.add(match[0].replace(/^.*#/, '#').replace(/^gh-/i, '#'));
  const pattern = tickets(rules);
  if (pattern) for (const match of message.matchAll(pattern)) references.add(match[0]);
  const tracker = TRACKER_BUG.exec(subjectOf(message));
  if (tracker) references.add(tracker[1]!);
  return { kind: 'fix', reason, ...(references.size ? { references: [...references] } : {}) };
}

/**
 * A share of corrective commits outside what histories show (about 5% to 50% in the studies of
 * Kamei et al. and the ISSTA data sets: 20-45%): the fix rules probably misread this history.
 */
export function implausibleFixShare(fixes: number, commits: number): string | null {
  if (commits < 50) return null;
  const share = fixes / commits;
  if (share < 0.03) return `only ${(share * 100).toFixed(1)}% of commits are fixes: SZZ will find few bug-inducing commits; set risk.fixPattern or risk.ticketKeys to the way this project marks fixes`;
  if (share > 0.6) return `${(share * 100).toFixed(0)}% of commits are fixes: the fix rules probably match more than fixes; tune risk.fixPattern`;
  return null;
}
