import type { Command, Option } from 'commander';

/**
 * Shell completion, cobra-style: the scripts `ops completion bash|zsh|fish` print are thin, and ask
 * `ops __complete -- <words>` for the candidates. The command tree and the config are read at the
 * moment of the TAB, so a script never goes stale and names come from the project's own config.
 */

/** Printed alone, it asks the shell to complete file names instead. */
export const FILES = ':files';

export interface Names {
  services: string[];
  environments: string[];
}

const SERVICE_ARGUMENTS = new Set(['service', 'services']);

function optionsOf(command: Command): Option[] {
  const all: Option[] = [];
  for (let c: Command | null = command; c; c = c.parent) all.push(...c.options.filter((o) => !o.hidden));
  return all;
}

function findOption(command: Command, flag: string): Option | undefined {
  return optionsOf(command).find((o) => o.long === flag || o.short === flag);
}

const takesValue = (option: Option | undefined) => Boolean(option && (option.required || option.optional));

/** The candidates for the last of `words` (the words after `ops`; the last is being typed). */
export async function complete(program: Command, words: string[], names: () => Promise<Names>): Promise<string[]> {
  const current = words[words.length - 1] ?? '';
  let command = program;
  const given: string[] = [];
  let valueFor: Option | undefined;
  for (const word of words.slice(0, -1)) {
    if (valueFor) {
      valueFor = undefined;
      continue;
    }
    if (word === '--') return [FILES];
    if (word.startsWith('-')) {
      const option = word.includes('=') ? undefined : findOption(command, word);
      valueFor = takesValue(option) ? option : undefined;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub && given.length === 0) command = sub;
    else given.push(word);
  }
  const matching = (candidates: string[]) => [...new Set(candidates)].filter((c) => c.startsWith(current)).sort();

  if (valueFor) {
    const name = valueFor.attributeName();
    if (valueFor.argChoices) return matching(valueFor.argChoices);
    if (name === 'env') return matching((await names()).environments);
    if (name === 'service') return matching((await names()).services);
    return [FILES];
  }
  if (current.startsWith('-')) {
    return matching(optionsOf(command).flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))).concat(['--help']));
  }
  const positional = given.length;
  const subcommands = positional === 0 ? command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden && c.name() !== 'help').map((c) => c.name()) : [];
  const args = command.registeredArguments;
  const argument = args[Math.min(positional, args.length - 1)];
  if (argument?.argChoices && positional < args.length) return matching([...subcommands, ...argument.argChoices]);
  const wantsService = argument !== undefined && SERVICE_ARGUMENTS.has(argument.name()) && (positional < args.length || argument.variadic);
  // A service named once is not offered again (ops deploy web <TAB> offers the others).
  const candidates = [...subcommands, ...(wantsService ? (await names()).services.filter((name) => !given.includes(name)) : [])];
  if (candidates.length === 0 && argument && (positional < args.length || argument.variadic)) return [FILES];
  return matching(candidates);
}

/** The value a global option was given among the typed words (`--cwd d`, `--cwd=d`). */
function valueOf(words: string[], flag: string): string | undefined {
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] === flag) return words[i + 1];
    if (words[i]!.startsWith(`${flag}=`)) return words[i]!.slice(flag.length + 1);
  }
  return undefined;
}

/** Service and environment names from the config `ops` would load for these words; none when it cannot. */
export async function configNames(words: string[], env: NodeJS.ProcessEnv): Promise<Names> {
  try {
    const { resolve } = await import('node:path');
    const { loadConfig } = await import('../core/config/load.js');
    const { config } = await loadConfig({ cwd: resolve(valueOf(words, '--cwd') ?? '.'), env, configFile: valueOf(words, '--config') });
    return { services: Object.keys(config?.services ?? {}), environments: Object.keys(config?.environments ?? {}) };
  } catch {
    return { services: [], environments: [] };
  }
}

/** The script for a shell; it calls the same `ops` it completes. */
export function completionScript(shell: 'bash' | 'zsh' | 'fish'): string {
  if (shell === 'bash') {
    return `# ops completion for bash: source it, or put it in /etc/bash_completion.d/ops
_ops_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\\n'
  local candidates
  candidates=($("\${COMP_WORDS[0]}" __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  if [ "\${candidates[0]}" = "${FILES}" ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=("\${candidates[@]}")
  fi
}
complete -o default -o filenames -F _ops_complete ops
`;
  }
  if (shell === 'zsh') {
    return `#compdef ops
# ops completion for zsh: put it on $fpath as _ops, or source it after compinit
_ops() {
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}" __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ "\${candidates[1]}" == "${FILES}" ]]; then
    _files
  else
    compadd -- "\${candidates[@]}"
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _ops "$@"
else
  compdef _ops ops
fi
`;
  }
  return `# ops completion for fish: put it in ~/.config/fish/completions/ops.fish
function __ops_complete
  set -l words (commandline -opc)[2..-1] (commandline -ct)
  set -l candidates (ops __complete -- $words 2>/dev/null)
  if test "$candidates[1]" = "${FILES}"
    __fish_complete_path (commandline -ct)
  else
    printf '%s\\n' $candidates
  end
end
complete -c ops -f -a '(__ops_complete)'
`;
}
