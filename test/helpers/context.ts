import { createContext, realAdapters, type Adapters, type Context } from '../../src/core/context.js';
import type { Output } from '../../src/core/output.js';
import { systemClock } from '../../src/core/output.js';

/** An Output that keeps what it was told, for assertions. */
export function memoryOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(m),
    warn: (m) => void lines.push(`warning: ${m}`),
    debug: () => {},
    passthrough: (_s, text) => void lines.push(text),
    step: (_text, work) => work(() => {}),
  };
}

/** A context as the CLI builds it, with injectable adapters and no git state unless asked. */
export async function testContext(options: { cwd: string; ledger: string; adapters?: Partial<Adapters>; env?: NodeJS.ProcessEnv }): Promise<Context> {
  return createContext({
    cwd: options.cwd,
    env: options.env ?? { XDG_CONFIG_HOME: options.cwd },
    argv: ['test'],
    ledgerFile: options.ledger,
    output: memoryOutput(),
    clock: systemClock,
    interactive: false,
    cancel: new AbortController().signal,
    adapters: {
      ...realAdapters,
      git: { ...realAdapters.git, gitState: async () => null },
      ...options.adapters,
    },
  });
}
