// Predictions made elsewhere, posted to `ops watch --listen` (watch.listen.predictions), as `ops model log` reads them.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { freePort } from './helpers/deploy.js';
import { listen, watchProject } from './helpers/watch.js';

const TOKEN = 'test-predictions-token-0123456789';

function post(port: number, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the predictions intake of ops watch --listen', () => {
  it('takes JSON Lines or a JSON array with the shared secret, names a bad prediction and records none of its batch', async (t) => {
    const p = watchProject(t, ['project: shop', 'ledger: .ops/ledger.db', 'watch:', '  sources: []', '  listen:', `    token: ${TOKEN}`].join('\n'));
    const random = seededRandom(4);
    const rows = Array.from({ length: 200 }, () => [Math.round(random() * 60), Math.round(random() * 10)]);
    writeFileSync(join(p.dir, 'train.csv'), `tenure,tickets,churned\n${rows.map(([a, b]) => `${a},${b},${b! * 6 > a! ? 'yes' : 'no'}`).join('\n')}\n`);
    const trained = await p.ops(['model', 'train', 'churn', '--data', 'train.csv', '--target', 'churned', '--param', 'nTrees=10', '--register']);
    assert.equal(trained.code, 0, trained.stderr);
    const port = await freePort();
    const receiver = await listen(t, p, `127.0.0.1:${port}`);
    assert.match(receiver.stderr(), /listening for Alertmanager webhooks on http:\/\/127\.0\.0\.1:\d+\/alerts \(and predictions on \/predictions\)/);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const line = (id: string, tenure: number) => JSON.stringify({ id, model: 'churn@1', inputs: { tenure, tickets: 3 }, prediction: 'no' });

    const lines = await post(port, '/predictions', `${line('a', 10)}\n${line('b', 20)}\n`, { ...auth, 'Content-Type': 'application/x-ndjson' });
    assert.deepEqual([lines.status, lines.body], [200, { received: 2, logged: 2, duplicates: 0, versions: ['churn@1'] }]);
    const array = await post(port, '/predictions', `[${line('b', 20)}, ${line('c', 30)}]`, { ...auth, 'Content-Type': 'application/json' });
    assert.deepEqual(array.body, { received: 2, logged: 1, duplicates: 1, versions: ['churn@1'] });

    const bad = await post(port, '/predictions', `${line('d', 40)}\n{"id": "e", "model": "churn@1", "inputs": {"tenure": 5}}\n`, { ...auth, 'Content-Type': 'application/x-ndjson' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^prediction 2: "prediction" must be a number, string or boolean$/);
    const unknown = await post(port, '/predictions', line('f', 1).replace('churn@1', 'nosuch@1'), { ...auth, 'Content-Type': 'application/json' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error, /model "nosuch" does not exist/);
    const unauthorized = await post(port, '/predictions', line('g', 1), { 'Content-Type': 'application/json' });
    assert.equal(unauthorized.status, 401);
    await receiver.stop();

    const monitored = await p.ops(['model', 'monitor', 'churn@1', '--window', 'last:100', '--json']);
    assert.equal(monitored.json.window.rows, 3, 'a, b and c; none of the refused batch');
  });
});
