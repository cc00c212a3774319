import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { redact } from '../src/redact.js';
import { Ledger } from '../src/ledger/index.js';
import { cleanEnv, OPS_BIN, runOps } from './helpers/ops.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'ops-secrets-'));

/** The ledger's raw bytes: the database file, its WAL and its shared-memory index, whichever exist. */
function rawLedger(path: string): Buffer {
  return Buffer.concat([path, `${path}-wal`, `${path}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

/** None of `secrets` in the raw ledger files, nor in `printed`. */
function assertNowhere(secrets: string[], ledgerPath: string, printed: string, when: string): void {
  const raw = rawLedger(ledgerPath);
  for (const secret of secrets) {
    assert.equal(raw.indexOf(secret), -1, `${when}: "${secret}" is in the raw ledger (file, WAL or shm)`);
    assert.ok(!printed.includes(secret), `${when}: "${secret}" was printed`);
  }
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEApemSecretBody\nline2pemSecretBody\n-----END RSA PRIVATE KEY-----';

/** Each argument carries a secret in a well-known form; the second column is the part that must not survive. */
const ARGUMENTS: Array<[string, string]> = [
  ['Authorization: Bearer bearerXyz123', 'bearerXyz123'],
  ['https://u:urlPw456@h/', 'urlPw456'],
  ['https://:noUserPw789@host/x', 'noUserPw789'],
  ['{\\"api_token\\":\\"escTok321\\"}', 'escTok321'],
  ['AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
  ['mysql -uroot -pmysqlPw654', 'mysqlPw654'],
  ['https://hooks.slack.com/services/T0SLACK/B0SLACK/slackHookSecret', 'slackHookSecret'],
  ['github_pat_11ABCDEFG0123456789_patSecretSecret', 'patSecretSecret'],
  ['DB_PASSWORD=envStylePw987', 'envStylePw987'],
  ['--api-key', ''],
  ['flagKey246', 'flagKey246'],
  [PEM, 'pemSecretBody'],
];

describe('secrets never reach the ledger or the terminal', () => {
  it('ops exec: the stored command, argv, the log (a token split across a 64 KiB chunk) and the printed output', async () => {
    const dir = tempDir();
    const ledgerPath = join(dir, 'ledger.db');
    const go = join(dir, 'go');
    const env = cleanEnv({ GITHUB_TOKEN: 'ghp_abcdef123456', DB_PASSWORD: 'envOnlySecret42', GO: go });
    // The repro: 65,530 bytes, then the token, so that the pipe's 64 KiB read cuts it in two.
    const script = [
      "head -c 65530 /dev/zero | tr '\\0' a; echo $GITHUB_TOKEN",
      'echo "$*"',
      'echo "db $DB_PASSWORD" >&2',
      'echo started',
      'while [ ! -e "$GO" ]; do sleep 0.05; done',
    ].join('; ');
    const secrets = ['ghp_abcdef123456', 'envOnlySecret42', ...ARGUMENTS.map(([, s]) => s).filter(Boolean)];
    const child = spawn(process.execPath, [OPS_BIN, '--ledger', ledgerPath, 'exec', '--json', '--', 'sh', '-c', script, 'sh', ...ARGUMENTS.map(([a]) => a)], { cwd: dir, env });
    let printed = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (printed += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (printed += d));

    // While the run is live, its rows sit in the WAL: grep it then, before any checkpoint.
    await waitFor(() => existsSync(`${ledgerPath}-wal`) && readFileSync(`${ledgerPath}-wal`).includes('started'), 'the log to reach the WAL');
    assertNowhere(secrets, ledgerPath, printed, 'while running');
    writeFileSync(go, '');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, printed);
    assertNowhere(secrets, ledgerPath, printed, 'after the run');

    const show = await runOps(['--ledger', ledgerPath, 'runs', 'show', '1', '--json'], { cwd: dir, env });
    assert.equal(show.code, 0, show.stderr);
    assertNowhere(secrets, ledgerPath, show.stdout, 'runs show');
    const run = JSON.parse(show.stdout);
    // Redacted, not dropped: the names and shapes stay readable.
    const log = run.logs.map((l: { text: string }) => l.text).join('');
    assert.equal(log.split('\n')[0], `${'a'.repeat(65530)}[REDACTED]`);
    assert.match(log, /Authorization: Bearer \[REDACTED\]/);
    assert.match(log, /https:\/\/u:\[REDACTED\]@h\//);
    assert.match(log, /\[REDACTED PRIVATE KEY\]/);
    assert.match(log, /db \[REDACTED\]/);
    assert.match(printed, /a{1000}\[REDACTED\]\n/);
    assert.equal(run.params.command.length, 4 + ARGUMENTS.length);
    assert.match(JSON.stringify(run.params.command), /mysql -uroot -p\[REDACTED\]/);
    assert.match(JSON.stringify(run.argv), /hooks\.slack\.com\/services\/\[REDACTED\]/);
  });

  it('ops model train: --param values, the training command in details and the failure tail', async () => {
    const dir = tempDir();
    const ledgerPath = join(dir, 'ledger.db');
    const env = cleanEnv();
    const result = await runOps(
      ['--ledger', ledgerPath, 'model', 'train', 'churn', '--param', 'db_password=trainPw111', '--param', 'lr=0.1', '--', 'sh', '-c', 'echo "token=trainTok222"; exit 4', 'sh', '--token', 'trainFlag333', 'postgres://app:trainUrl444@db/x'],
      { cwd: dir, env },
    );
    assert.equal(result.code, 1, result.stderr);
    const secrets = ['trainPw111', 'trainTok222', 'trainFlag333', 'trainUrl444'];
    assertNowhere(secrets, ledgerPath, result.stdout + result.stderr, 'after training');
    const ledger = Ledger.open(ledgerPath);
    const run = (await ledger.runs.get(1))!;
    await ledger.close();
    assert.deepEqual(run.params, { db_password: '[REDACTED]', lr: '0.1' });
    assert.deepEqual((run.details as { command: string[] }).command.slice(3), ['sh', '--token', '[REDACTED]', 'postgres://app:[REDACTED]@db/x']);
    assert.match(run.error!, /token=\[REDACTED\]/);
  });

  it('every store is scrubbed at the one boundary: statements bind redacted strings, and lookups find them', async () => {
    const path = join(tempDir(), 'l.db');
    const ledger = Ledger.open(path, { redact: (text) => redact(text, ['knownValue9']) });
    const id = await ledger.runs.insert({ kind: 'exec', actor: 'a', host: 'h', pid: 1, ci: false, argv: ['--password', 'argvPw1'], params: { nested: { api_key: 'x' }, list: ['knownValue9'] } }, Date.now());
    await ledger.runs.setDetails(id, { url: 'https://u:detailPw2@h' });
    await ledger.runs.appendLog(id, 'stdout', 'echo knownValue9', Date.now());
    const lookup = (await ledger.db.get<{ n: number }>(`SELECT count(*) AS n FROM runs WHERE json_extract(params, '$.list[0]') = ?`, 'knownValue9'))!;
    assert.equal(lookup.n, 1, 'a lookup by a secret value finds the row stored for it');
    await ledger.close();
    const raw = rawLedger(path);
    for (const secret of ['argvPw1', 'detailPw2', 'knownValue9']) assert.equal(raw.indexOf(secret), -1, secret);
  });
});
