import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretName, redact, RedactionStream, secretValuesFromEnv } from '../src/redact.js';

/** Each well-known form: the text, and the secret in it that must be gone. */
const FORMS: Array<[string, string, string]> = [
  ['NAME=value', 'DB_PASS=hunter22 next', 'hunter22'],
  ['name: value', 'password: abc123 next', 'abc123'],
  ['JSON', '{"db_password":"p4ss word","x":1}', 'p4ss word'],
  ['backslash-escaped JSON', '{\\"api_token\\":\\"escTok9\\"}', 'escTok9'],
  ['twice-escaped JSON', '{\\\\\\"client_secret\\\\\\":\\\\\\"dblEsc7\\\\\\"}', 'dblEsc7'],
  ['YAML quoted', "aws_secret_access_key: 'wJalrXUtnFEMIK7MDENGbPxRfiCY'", 'wJalrXUtnFEMIK7MDENGbPxRfiCY'],
  ['PHP arrow', "'secret_key' => 'arrowSecret1'", 'arrowSecret1'],
  ['query string', 'GET /cb?access_token=qsTok42&state=1', 'qsTok42'],
  ['npmrc', '//registry.npmjs.org/:_authToken=npmrcTok5', 'npmrcTok5'],
  ['docker config auth', '{"auths":{"r.io":{"auth":"dXNlcjpwYXNzd29yZA=="}}}', 'dXNlcjpwYXNzd29yZA=='],
  ['--flag value', 'tool --password flagPw1 --verbose', 'flagPw1'],
  ['--flag=value', 'tool --api-key=flagKey2', 'flagKey2'],
  ['argv JSON', '["tool","--token","argvTok3"]', 'argvTok3'],
  ['Authorization header', 'curl -H "Authorization: Bearer hdrTok.abc"', 'hdrTok.abc'],
  ['Authorization basic', 'authorization: Basic dXNlcjpwdw==', 'dXNlcjpwdw=='],
  ['escaped Authorization', '{\\"Authorization\\":\\"Bearer escHdr4\\"}', 'escHdr4'],
  ['URL user:password', 'postgres://app:urlPw5@db:5432/x', 'urlPw5'],
  ['URL without user', 'https://:noUserPw6@host/path', 'noUserPw6'],
  ['URL token as user', 'https://ghtokenasuser0123456789ab@github.com/o/r.git', 'ghtokenasuser0123456789ab'],
  ['curl -u', 'curl -u admin:curlPw7 https://x', 'curlPw7'],
  ['mysql -pPASSWORD', 'mysql -uroot -pmyPw8 shop', 'myPw8'],
  ['mysqldump argv', '["mysqldump","-uroot","-pdumpPw9","db"]', 'dumpPw9'],
  ['sshpass -p', 'sshpass -p sshPw10 ssh host', 'sshPw10'],
  ['GitHub classic token', 'token ghp_abcdef123456 used', 'ghp_abcdef123456'],
  ['GitHub OAuth token', 'gho_16C7e42F292c6912E7710c838347Ae178B4a', 'gho_16C7e42F292c6912E7710c838347Ae178B4a'],
  ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
  ['GitLab token', 'glpat-xxxxxxxxxxxxxxxxxxxx1', 'glpat-xxxxxxxxxxxxxxxxxxxx1'],
  ['AWS key id', 'id AKIAIOSFODNN7EXAMPLE here', 'AKIAIOSFODNN7EXAMPLE'],
  ['AWS temporary key id', 'ASIAY34FZKBOKMUTVV7A', 'ASIAY34FZKBOKMUTVV7A'],
  ['Slack bot token', 'xoxb-1234567890-1234567890123-abcdefghijklmnop', 'xoxb-1234567890-1234567890123-abcdefghijklmnop'],
  ['Slack webhook', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'T00000000/B00000000'],
  ['Discord webhook', 'https://discord.com/api/webhooks/123456789/abcDEF-ghi', 'abcDEF-ghi'],
  ['Google API key', 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI', 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI'],
  ['Stripe key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
  ['OpenAI key', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345'],
  ['Anthropic key', 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz', 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz'],
  ['npm token', 'npm_abcdefghijklmnopqrstuvwxyz0123456789', 'npm_abcdefghijklmnopqrstuvwxyz0123456789'],
  ['Hugging Face token', 'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH', 'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH'],
  ['Docker Hub token', 'dckr_pat_abcdefghijklmnopqrstuvwx', 'dckr_pat_abcdefghijklmnopqrstuvwx'],
  ['SendGrid key', 'SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', 'SG.abcdefghijklmnopqrstuv'],
  ['Vault token', 'hvs.CAESIJlOAbcdefghijklmnopqrstuvwxyz', 'hvs.CAESIJlOAbcdefghijklmnopqrstuvwxyz'],
  ['JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
  [
    'PEM private key',
    'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0pemBody\nline2pemBody\n-----END RSA PRIVATE KEY-----\nafter',
    'pemBody',
  ],
  ['PEM private key in JSON', '{"key":"-----BEGIN PRIVATE KEY-----\\nMIIjsonPem\\n-----END PRIVATE KEY-----\\n"}', 'MIIjsonPem'],
  ['OpenSSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEsshBody\n-----END OPENSSH PRIVATE KEY-----', 'sshBody'],
];

/** Text that must come out exactly as it went in. */
const ORDINARY = [
  '{"passed": true, "passing": 3}',
  'max_tokens: 100 tokens_per_second=33.5 tokenizer=bert-base author: Bob auth: true',
  'the build passed in 3s; bypass: no; compass=north',
  'docker run -p 8080:80 img && mkdir -p /tmp/x && ssh -p 22 host',
  'commit 3f786850e387550fdab836ed7e6dc881de23001b, image sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  'https://example.com/path?page=2&sort=asc git@github.com:org/repo.git ssh://git@host:22/repo',
  'password=$DB_PASSWORD token: ${{ secrets.GITHUB_TOKEN }} api_key: "${API_KEY}"',
  'Password: ',
  'token_url=https://auth.example.com/token password_file=/run/secrets/db',
  'epoch 3/10 loss=0.4312 acc=0.91 lr=0.001 batch_size=64',
  '{"model":"churn","version":3,"metrics":{"auc":0.91}}',
  'Authentication succeeded for user alice; ordinary words: secretary, tokenism, keyboard',
];

describe('redact', () => {
  for (const [name, text, secret] of FORMS) {
    it(`scrubs ${name}`, () => {
      const out = redact(text);
      assert.ok(!out.includes(secret), `${name}: "${secret}" survived in ${JSON.stringify(out)}`);
      assert.match(out, /\[REDACTED/);
    });
  }

  it('keeps the name and the quoting around a scrubbed value', () => {
    assert.equal(redact('DB_PASS=hunter22 password: abc "passwd":"x" PASSPHRASE=zz'), 'DB_PASS=[REDACTED] password: [REDACTED] "passwd":"[REDACTED]" PASSPHRASE=[REDACTED]');
    assert.equal(redact('Authorization: Bearer abc.def'), 'Authorization: Bearer [REDACTED]');
    assert.equal(redact('{\\"api_token\\":\\"X\\"}'), '{\\"api_token\\":\\"[REDACTED]\\"}');
    assert.equal(redact('mysql -uroot -phunter2 db'), 'mysql -uroot -p[REDACTED] db');
    assert.equal(redact('https://:pass@host/'), 'https://:[REDACTED]@host/');
    assert.equal(redact('https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXX'), 'https://hooks.slack.com/services/[REDACTED]');
    assert.equal(redact('a\n-----BEGIN EC PRIVATE KEY-----\nxyz\n-----END EC PRIVATE KEY-----\nb'), 'a\n[REDACTED PRIVATE KEY]\nb');
  });

  for (const text of ORDINARY) {
    it(`leaves ordinary text alone: ${JSON.stringify(text.slice(0, 40))}`, () => assert.equal(redact(text), text));
  }

  it('scrubs known values as they are and as they appear escaped in JSON', () => {
    const secret = 'k"n\\own';
    const out = redact(`raw ${secret} json ${JSON.stringify({ v: secret })} twice ${JSON.stringify(JSON.stringify({ v: secret }))}`, [secret]);
    assert.equal(out, 'raw [REDACTED] json {"v":"[REDACTED]"} twice "{\\"v\\":\\"[REDACTED]\\"}"');
  });

  it('is idempotent', () => {
    for (const [, text] of FORMS) assert.equal(redact(redact(text)), redact(text));
  });

  it('takes secret values from variables named like secrets, not from paths, sockets or common words', () => {
    assert.deepEqual(
      secretValuesFromEnv({ GITHUB_TOKEN: 'ghp_x1', DB_PASSWORD: 'pw123', NPM_CONFIG__AUTH: 'YXV0aA==', SSH_AUTH_SOCK: '/tmp/ssh/agent', TOKEN_FILE: '/run/t', XAUTHORITY: '/home/u/.Xauthority', PWD: '/work', FEATURE_TOKEN: 'true', API_KEY: 'abc' }),
      ['ghp_x1', 'pw123', 'YXV0aA=='],
    );
    assert.ok(isSecretName('AWS_SECRET_ACCESS_KEY'));
    assert.ok(!isSecretName('PASSWORD_FILE'));
  });
});

describe('RedactionStream', () => {
  const collect = (secrets: string[], chunks: string[]) => {
    let out = '';
    const stream = new RedactionStream(secrets, (text) => (out += text));
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
    return out;
  };

  it('catches a known secret split across a 64 KiB chunk (the issue\'s repro)', () => {
    const text = `${'a'.repeat(65530)}ghp_abcdef123456\n`;
    const out = collect(['ghp_abcdef123456'], [text.slice(0, 65536), text.slice(65536)]);
    assert.equal(out, `${'a'.repeat(65530)}[REDACTED]\n`);
  });

  it('catches every form split at every position', () => {
    for (const [name, text, secret] of FORMS) {
      const line = `${'x'.repeat(50)} ${text}\n`;
      for (let at = 1; at < line.length; at++) {
        const out = collect([], [line.slice(0, at), line.slice(at)]);
        assert.ok(!out.includes(secret), `${name} split at ${at}: ${JSON.stringify(out)}`);
      }
    }
  });

  it('holds a private key block until it ends, across many chunks', () => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${'MIIpemLine0123456789\n'.repeat(200)}-----END RSA PRIVATE KEY-----\n`;
    const chunks = key.match(/[\s\S]{1,100}/g)!;
    assert.equal(collect([], ['before\n', ...chunks, 'after\n']), 'before\n[REDACTED PRIVATE KEY]\nafter\n');
  });

  it('passes ordinary output through unchanged, whatever the chunking', () => {
    const text = `${ORDINARY.join('\n')}\n${'progress 50%\r'.repeat(20)}done\n`;
    for (const size of [1, 7, 64, 4096]) assert.equal(collect([], text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!), text);
  });

  it('lets a prompt without a newline out after a short pause', async () => {
    let out = '';
    const stream = new RedactionStream([], (text) => (out += text), 20);
    stream.write('Continue? [y/N] ');
    assert.equal(out, '');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(out, 'Continue? [y/N] ');
    stream.end();
  });

  it('a prompt ending in a word is let out too, after a longer pause', async () => {
    let out = '';
    const stream = new RedactionStream([], (text) => (out += text), 20, 60);
    stream.write('Password:');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(out, 'Password:');
    stream.end();
  });

  it('a pause in the middle of a token does not let its first part out', async () => {
    let out = '';
    const stream = new RedactionStream([], (text) => (out += text), 20);
    stream.write('key AKIAIOSFOD');
    await new Promise((resolve) => setTimeout(resolve, 200));
    stream.write('NN7EXAMPLE done\n');
    stream.end();
    assert.equal(out, 'key [REDACTED] done\n');
  });
});
