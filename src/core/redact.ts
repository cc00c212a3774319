const SECRET_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth)/i;

const PATTERNS: Array<[RegExp, string]> = [
  // Authorization: Bearer abc / Basic abc (headers, curl -H, logs)
  [/\b(authorization\s*[:=]\s*)(bearer|basic|token)?\s*[^\s"',]+/gi, '$1$2 [REDACTED]'],
  // user:password@host in URLs
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1[REDACTED]@'],
  // NAME=value and "name": "value" where the name looks like a secret ("pass" as a word: not "passed")
  [
    /\b([A-Za-z0-9_.-]*(?:pass(?:word|wd|phrase)?(?![a-rt-z])|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)[A-Za-z0-9_.-]*)(["']?\s*[=:]\s*["']?)([^\s"',}]+)/gi,
    '$1$2[REDACTED]',
  ],
];

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Values of environment variables whose names look like secrets, worth scrubbing from any output. */
export function secretValuesFromEnv(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([name, value]) => isSecretName(name) && value !== undefined && value.length >= 4)
    .map(([, value]) => value as string);
}

/** Scrub secrets from text before it is stored or printed. */
export function redact(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) {
    if (secret) out = out.split(secret).join('[REDACTED]');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
