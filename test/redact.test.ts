import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact } from '../src/core/redact.js';

describe('redact', () => {
  it('scrubs values of secret-looking names, but not words that merely contain "pass"', () => {
    assert.equal(redact('DB_PASS=hunter22 password: abc "passwd":"x" PASSPHRASE=zz'), 'DB_PASS=[REDACTED] password: [REDACTED] "passwd":"[REDACTED]" PASSPHRASE=[REDACTED]');
    assert.equal(redact('{"passed": true, "passing": 3}'), '{"passed": true, "passing": 3}');
    assert.equal(redact('Authorization: Bearer abc.def'), 'Authorization: Bearer [REDACTED]');
  });
});
