import { OpsError } from '../errors.js';
import { runTool, type ExecResult } from './exec.js';

/** Where kubectl points: a kubeconfig context (default: the current one) and a namespace. */
export interface KubeTarget {
  context?: string;
  namespace: string;
  env: NodeJS.ProcessEnv;
  /** Each call's limit (default 60 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** The target of a Kubernetes environment's context and namespace. */
export const kubeTarget = (environment: { context?: string; namespace: string; timeout?: number }, env: NodeJS.ProcessEnv): KubeTarget => ({
  context: environment.context,
  namespace: environment.namespace,
  env,
  timeoutMs: environment.timeout,
});

/** Run kubectl with an argument array against the target's context and namespace. */
export function kubectl(target: KubeTarget, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  const scope = [...(target.context ? ['--context', target.context] : []), '--namespace', target.namespace];
  return runTool('kubectl', [...scope, ...args], { env: target.env, input: options.input, timeoutMs: options.timeoutMs ?? target.timeoutMs ?? DEFAULT_TIMEOUT_MS });
}

/** The first line kubectl wrote to stderr, without its "error: " prefix. */
export function kubectlError(result: ExecResult): string {
  const line = result.stderr.split('\n').find((l) => l.trim() !== '') ?? `kubectl exited with code ${result.exitCode}`;
  return line.replace(/^(error|Error from server[^:]*):\s*/, '').trim();
}

/** `kubectl ... -o json`, parsed; a failure is an OpsError naming what kubectl said. */
export async function kubectlJson<T>(target: KubeTarget, args: readonly string[]): Promise<T> {
  const result = await kubectl(target, [...args, '-o', 'json']);
  if (result.exitCode !== 0) throw new OpsError(`kubectl ${args.join(' ')}: ${kubectlError(result)}`, 'check the kubeconfig context and that the cluster answers (`ops doctor`)');
  return JSON.parse(result.stdout) as T;
}
