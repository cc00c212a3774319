import type { Context } from './context.js';
import { UsageError } from '../errors.js';
import { childOutput, withRun } from './runs.js';

export interface RecordedExec {
  runId: number;
  status: string;
  exitCode: number;
}

/** Run a command as a recorded run: its output is streamed, stored (redacted), and its exit code kept. */
export async function execRecorded(ctx: Context, command: string[], kind: string): Promise<RecordedExec> {
  if (command.length === 0) throw new UsageError('no command given', 'put the command after --, e.g. `ops exec -- npm test`');
  const outcome = await withRun(ctx, { kind, params: { command } }, async (run) => {
    ctx.output.debug(`running ${JSON.stringify(command)} as run ${run.id}`);
    const output = childOutput(ctx, run, (stream, text) => ctx.output.passthrough(stream, text));
    const result = await ctx.adapters.exec
      .runStreaming(command, { cwd: ctx.cwd, env: { ...ctx.env, OPS_RUN_ID: String(run.id) }, cancel: ctx.cancel, onOutput: output.write })
      .finally(output.end);
    return {
      status: result.exitCode === 0 ? 'succeeded' : 'failed',
      exitCode: result.exitCode,
      error: result.failure ?? (result.exitCode === 0 ? undefined : `${command[0]} exited with code ${result.exitCode}`),
    };
  });
  return { runId: outcome.runId, status: outcome.status, exitCode: outcome.exitCode };
}
