// The A/B holdout against the real collector: holdout decisions are accepted and stored flagged,
// with the store's user_id, in the canonical export that disco-eval ab reads; they add nothing
// to the fleet bandit statistics, while the treated shoppers' decisions do.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Disco, Engine } from '../../sdk-js/src/node.js';
import { crypto, makeBundle, testKey, wasmBytes } from './helpers.mjs';
import { startCollector, keyIdOf } from './real-collector.mjs';
import { csvObjects } from '../../lib/csv.mjs';

const SECRET = 'site-secret-for-the-sdk-tests';

test('holdout: the real collector stores holdout decisions flagged, exports them, keeps them out of the fleet statistics', { timeout: 60_000 }, async (t) => {
  const col = await startCollector();
  t.after(() => col.stop());
  const engine = await Engine.load(wasmBytes());
  const bundle = makeBundle();
  const T0 = Date.now();
  const ids = { held: [], treated: [] };
  for (let s = 0; s < 30; s++) {
    const d = await Disco.create({ engine, bundle, publicKey: testKey().spki, seed: s, userKeySalt: 'test-site-user-salt-0123', userId: `store-user-${s}`, crypto,
      holdout: { share: 0.5 }, collector: { url: col.url, key: SECRET } });
    for (let i = 0; i < 3; i++) {
      const o = d.offerSync(`item-${s + i}`, { now: T0 + s * 100 + i });
      d.shown(o.decisionId, { ts: T0 + s * 100 + i + 1 });
      d.report(o.decisionId, { converted: true, revenue: 10, margin: 3, ts: T0 + s * 100 + i + 2 });
      (o.holdout ? ids.held : ids.treated).push({ id: o.decisionId, user: `store-user-${s}` });
    }
    const r = await d.flush();
    assert.ok(r.ok, `the collector accepted every record: ${JSON.stringify(r)}`);
    d.close();
  }
  assert.ok(ids.held.length > 0 && ids.treated.length > 0);
  const stats = await (await fetch(`${col.base}/v1/bandit-state`, { headers: { 'x-disco-key': keyIdOf(SECRET) } })).json();
  assert.equal(stats.arms.reduce((a, x) => a + x.n, 0), ids.treated.length, 'only the treated decisions trained the fleet statistics');
  const ex = col.exportCanonical();
  const rows = csvObjects(ex.read('decisions.csv'), 'decisions.csv');
  const byId = new Map(rows.map((r) => [r.decision_id, r]));
  for (const { id, user } of ids.held) {
    assert.equal(byId.get(id)?.holdout, '1', `holdout decision ${id} exported flagged`);
    assert.equal(byId.get(id).user_id, user);
    assert.equal(Number(byId.get(id).propensity), 1);
  }
  for (const { id } of ids.treated) assert.equal(byId.get(id)?.holdout, '0');
});
