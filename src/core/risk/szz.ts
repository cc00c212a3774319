/**
 * SZZ (Śliwerski, Zimmermann and Zeller, MSR 2005): the lines a fix deletes or changes were, most
 * likely, where the bug was; `git blame` on the fix's parent names the commits that wrote them.
 *
 * The variant here is MA-SZZ (da Costa et al., "A framework for evaluating the results of the SZZ
 * approach", TSE 2017) with AG-SZZ's filters (Kim et al., "Automatic identification of
 * bug-introducing changes", ASE 2006): the fix's diff and the blame ignore whitespace (`-w`), blame
 * follows lines moved within and copied across files (`-M -C`); blank lines, comment-only lines
 * (by the file's comment syntax) and documentation files are not blamed, nor a removed line that
 * the fix adds back elsewhere with only its layout changed (a cosmetic change). Meta-changes are
 * never candidates: merges, which mining does not keep, are dropped and counted, as is any other
 * commit mining does not have. Fixes too large to be one fix are skipped, and with known bug report
 * dates a candidate written after the bug was reported is dropped.
 */

/** A fix touching more code files than this is a tangled change or a refactoring, not a fix. */
export const MAX_FIX_FILES = 20;

export interface RemovedLine {
  /** Line number in the fix's parent. */
  line: number;
  text: string;
}

export interface FileDiff {
  /** Path in the fix's parent (null: the fix added the file). */
  oldPath: string | null;
  newPath: string | null;
  removed: RemovedLine[];
  added: string[];
}

/** A C-style quoted path of git's diff headers (`"a/tab\there"`), unquoted. */
function unquote(path: string): string {
  if (!path.startsWith('"')) return path;
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  const body = Buffer.from(path.slice(1, -1), 'utf8');
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== 92) {
      bytes.push(body[i]!);
      continue;
    }
    const next = String.fromCharCode(body[++i]!);
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(String.fromCharCode(body[i]!, body[i + 1]!, body[i + 2]!), 8));
      i += 2;
    } else bytes.push(escapes[next] ?? body[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

const stripPrefix = (path: string, prefix: string) => (path.startsWith(prefix) ? path.slice(prefix.length) : path);

/** The file sections of a `-U0` patch: each file's removed lines (with their old numbers) and added lines. */
export function parsePatch(patch: string): FileDiff[] {
  const files: FileDiff[] = [];
  let file: FileDiff | null = null;
  let inHeader = false;
  let line = 0;
  for (const text of patch.split('\n')) {
    if (text.startsWith('diff --git ')) {
      file = { oldPath: null, newPath: null, removed: [], added: [] };
      files.push(file);
      inHeader = true;
      continue;
    }
    if (!file) continue;
    if (inHeader) {
      if (text.startsWith('--- ')) file.oldPath = text === '--- /dev/null' ? null : stripPrefix(unquote(text.slice(4)), 'a/');
      else if (text.startsWith('+++ ')) file.newPath = text === '+++ /dev/null' ? null : stripPrefix(unquote(text.slice(4)), 'b/');
      else if (text.startsWith('rename from ')) file.oldPath = unquote(text.slice(12));
      else if (text.startsWith('rename to ')) file.newPath = unquote(text.slice(10));
      else if (text.startsWith('@@')) inHeader = false;
      if (inHeader) continue;
    }
    if (text.startsWith('@@')) {
      const match = /^@@ -(\d+)/.exec(text);
      line = match ? Number(match[1]) : 0;
    } else if (text.startsWith('-')) file.removed.push({ line: line++, text: text.slice(1) });
    else if (text.startsWith('+')) file.added.push(text.slice(1));
  }
  return files;
}

type Syntax = { line: string[]; block: Array<[string, string]>; strings: string[]; docstrings?: boolean };
const C_LIKE: Syntax = { line: ['//'], block: [['/*', '*/']], strings: ['"', "'", '`'] };
const HASH: Syntax = { line: ['#'], block: [], strings: ['"', "'"] };
const SYNTAX: Record<string, Syntax> = {
  c: C_LIKE,
  py: { line: ['#'], block: [], strings: ['"', "'"], docstrings: true },
  sql: { line: ['--'], block: [['/*', '*/']], strings: ["'", '"'] },
  lua: { line: ['--'], block: [['--[[', ']]']], strings: ['"', "'"] },
  haskell: { line: ['--'], block: [['{-', '-}']], strings: ['"'] },
  hash: HASH,
  php: { line: ['//', '#'], block: [['/*', '*/']], strings: ['"', "'"] },
  css: { line: [], block: [['/*', '*/']], strings: ['"', "'"] },
  scss: C_LIKE,
  markup: { line: [], block: [['<!--', '-->']], strings: [] },
  percent: { line: ['%'], block: [], strings: ['"'] },
  semicolon: { line: [';'], block: [], strings: ['"'] },
};
const BY_EXTENSION: Record<string, string> = {};
const family = (name: string, extensions: string) => extensions.split(' ').forEach((e) => (BY_EXTENSION[e] = name));
family('c', 'js jsx mjs cjs ts tsx mts cts java kt kts scala sc go c h cc cpp cxx hpp hh hxx cs swift rs dart groovy gradle m mm proto fs fsx zig v sol');
family('py', 'py pyi pyx pxd');
family('sql', 'sql');
family('lua', 'lua');
family('haskell', 'hs lhs elm purs');
family('hash', 'rb sh bash zsh fish pl pm r jl ex exs nim cr tf hcl yaml yml toml cfg conf cmake mk ps1 coffee tcl awk sed nix');
family('php', 'php');
family('css', 'css');
family('scss', 'scss less sass styl');
family('markup', 'html htm xml xhtml xsl xslt svg vue svelte jsp erb hbs handlebars ejs');
family('percent', 'tex sty cls erl hrl');
family('semicolon', 'lisp lsp el clj cljs cljc edn scm ss rkt asm s ini');
const NAMED: Record<string, string> = { makefile: 'hash', dockerfile: 'hash', gemfile: 'hash', rakefile: 'hash', cmakelists: 'hash', 'build.bazel': 'hash', build: 'hash', workspace: 'hash' };
/** Prose, not code: a fix's edit of them names no bug. */
const DOCUMENTATION = /(?:^|\/)(?:[^/]*\.(?:md|markdown|mdx|rst|txt|adoc|asciidoc|textile|rdoc|pod|org|po|pot)|(?:license|licence|copying|notice|authors|contributors|changelog|changes|history|news|readme|maintainers|codeowners)(?:\.[^/]*)?)$/i;
/** Lock and generated files: blame would name whoever last ran the tool. */
const GENERATED = /(?:^|\/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Pipfile\.lock|Cargo\.lock|Gemfile\.lock|composer\.lock|go\.sum|[^/]*\.min\.(?:js|css)|[^/]*\.map|[^/]*\.snap|[^/]*\.lock)$/i;

/** Whether a file's edits can name a bug: not documentation, not a lock or generated file. */
export function blameable(path: string): boolean {
  return !DOCUMENTATION.test(path) && !GENERATED.test(path);
}

function syntaxOf(path: string): Syntax | null {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const dot = name.lastIndexOf('.');
  const key = dot > 0 ? BY_EXTENSION[name.slice(dot + 1)] : NAMED[name.replace(/\.txt$/, '')];
  return key ? SYNTAX[key]! : null;
}

/**
 * Which lines of a file hold code: not blank, not only comment. Strings are skipped over so that
 * "http://x" is no comment; Python's docstrings (a triple-quoted string opening a line) count as
 * comments. A file of an unknown type: every non-blank line is code.
 */
export function codeLines(path: string, content: string): boolean[] {
  const lines = content.split('\n');
  const syntax = syntaxOf(path);
  if (!syntax) return lines.map((l) => l.trim() !== '');
  const code = new Array<boolean>(lines.length).fill(false);
  let block: string | null = null;
  let docstring: string | null = null;
  for (let n = 0; n < lines.length; n++) {
    const text = lines[n]!;
    let i = 0;
    if (docstring) {
      const end = text.indexOf(docstring);
      if (end < 0) continue;
      docstring = null;
      i = end + 3;
    }
    while (i < text.length) {
      if (block) {
        const end = text.indexOf(block, i);
        if (end < 0) {
          i = text.length;
          break;
        }
        i = end + block.length;
        block = null;
        continue;
      }
      const c = text[i]!;
      if (c === ' ' || c === '\t' || c === '\r') {
        i++;
        continue;
      }
      if (syntax.docstrings && !code[n] && (text.startsWith('"""', i) || text.startsWith("'''", i))) {
        const quote = text.slice(i, i + 3);
        const end = text.indexOf(quote, i + 3);
        if (end < 0) {
          docstring = quote;
          i = text.length;
        } else i = end + 3;
        continue;
      }
      if (syntax.line.some((marker) => text.startsWith(marker, i))) break;
      const opened = syntax.block.find(([start]) => text.startsWith(start, i));
      if (opened) {
        block = opened[1];
        i += opened[0].length;
        continue;
      }
      code[n] = true;
      if (syntax.strings.includes(c)) {
        // Skip the string literal (to its closing quote on this line; escapes honoured).
        let j = i + 1;
        while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
        i = j + 1;
        continue;
      }
      i++;
    }
  }
  return code;
}

const layout = (text: string) => text.replace(/\s+/g, '');

/**
 * The removed lines worth blaming: code lines (by `isCode`, from the parent's content) that the fix
 * does not add back with only their layout changed.
 */
export function blameCandidates(diff: FileDiff, isCode: (line: number) => boolean): number[] {
  const readded = new Set(diff.added.map(layout));
  return diff.removed.filter((r) => isCode(r.line) && r.text.trim() !== '' && !readded.has(layout(r.text))).map((r) => r.line);
}

/** `-L a,b` arguments covering the lines, consecutive ones merged. */
export function lineRanges(lines: number[]): string[] {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push('-L', `${sorted[i]},${sorted[j]}`);
    i = j + 1;
  }
  return ranges;
}

/** Lines per commit named by `git blame --incremental` (or `--porcelain`). */
export function blamedCommits(output: string): Map<string, number> {
  const commits = new Map<string, number>();
  for (const match of output.matchAll(/^([0-9a-f]{40}) \d+ \d+ (\d+)$/gm)) commits.set(match[1]!, (commits.get(match[1]!) ?? 0) + Number(match[2]));
  return commits;
}
