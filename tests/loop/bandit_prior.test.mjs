// loop/bandit_prior.mjs: a hand-made randomized pilot replayed through a real disco.wasm runtime
// gives per-arm ridge statistics with the rewards, weights and discount-exposure features that
// the formulas in the file header say (checked by hand); contextCost clamps.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fitBanditPrior, contextCost } from '../../loop/bandit_prior.mjs';
import { makeBundle, wasmBytes } from '../sdk/helpers.mjs';

const DAY = 86400000;
const T0 = 1_767_571_200_000;

// Shopper u7: day 0 cart + decision arm 2 (discount, p = 1/2, converted, margin 10 on price 50),
// day 3 cart + decision arm 0 (p = 1/4, not converted). Shopper u3 is left out by keep().
function pilot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'disco-prior-test-'));
  fs.writeFileSync(path.join(dir, 'items.csv'), 'item_id,category,brand,price,cost,in_stock\nitem-4,c0,b0,50,30,1\nitem-9,c0,b0,20,10,1\n');
  fs.writeFileSync(path.join(dir, 'events.csv'), ['user_id,session_id,ts,type,item_id,price,quantity',
    `u7,s1,${T0},view,item-4,50,1`, `u7,s1,${T0 + 1000},cart,item-4,50,1`, `u7,s1,${T0 + 5000},purchase,item-4,45,1`,
    `u7,s2,${T0 + 3 * DAY},view,item-9,20,1`, `u7,s2,${T0 + 3 * DAY + 1000},cart,item-9,20,1`,
    `u3,s3,${T0},cart,item-4,50,1`, ''].join('\n'));
  fs.writeFileSync(path.join(dir, 'decisions.csv'), ['decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version',
    `d1,${T0 + 1000},u7,item-4,2,0.1,0.5,sim,uniform`, `d2,${T0 + 3 * DAY + 1000},u7,item-9,0,0,0.25,sim,uniform`,
    `d3,${T0},u3,item-4,1,0.05,0.5,sim,uniform`, ''].join('\n'));
  fs.writeFileSync(path.join(dir, 'outcomes.csv'), 'decision_id,ts,converted,revenue,margin\nd1,0,1,45,10\nd3,0,1,47,99\n');
  return dir;
}

test('fitBanditPrior: per-arm statistics, IPS weights, delayed cost, exposure from the logged arms', async () => {
  const dir = pilot();
  try {
    const bundleBytes = makeBundle({ items: 20, dim: 16, hidden: 32 });
    const p = await fitBanditPrior(dir, { wasm: wasmBytes(), bundleBytes, delayedCost: 0.1, keep: (u) => u >= 5 });
    assert.equal(p.shoppers, 1);
    assert.equal(p.decisions, 2);
    const dim = p.dim;
    assert.equal(dim, 15);
    const nArms = p.nArms;
    const a2 = p.arms[2], a0 = p.arms[0];
    // w = 1 / (nArms * p); arm 2: reward (10 - 0.1 * 50) / 50 = 0.1; arm 0: not converted -> 0.
    assert.ok(Math.abs(a2.n - 1 / (nArms * 0.5)) < 1e-12);
    assert.ok(Math.abs(a2.reward_sum - 0.1 / (nArms * 0.5)) < 1e-9);
    assert.ok(Math.abs(a0.n - 1 / (nArms * 0.25)) < 1e-12);
    assert.equal(a0.reward_sum, 0);
    for (const k of [1, 3, 4].filter((k) => k < nArms)) assert.equal(p.arms[k].n, 0);  // u3 left out
    // bias feature: A[0][0] = sum w, b[0] = sum w r
    assert.ok(Math.abs(a2.A[0] - a2.n) < 1e-9 && Math.abs(a2.b[0] - a2.reward_sum) < 1e-9);
    // Arm 0's decision comes 3 days after a discount: exposure e = 2^(-3/7), feature e / (1 + e);
    // offer recency 1 / (1 + 72 h / 24) = 0.25. x_7 = A[7][0] / w (bias is 1).
    const e = Math.pow(2, -3 / 7);
    assert.ok(Math.abs(a0.A[7 * dim] / a0.n - e / (1 + e)) < 1e-6, `exposure ${a0.A[7 * dim] / a0.n}`);
    assert.ok(Math.abs(a0.A[8 * dim] / a0.n - 0.25) < 1e-6);
    // The first decision had no discount before it.
    assert.equal(a2.A[7 * dim], 0);
    assert.equal(a2.A[8 * dim], 0);
    // Any weight keeps A exactly symmetric (the runtime refuses a state whose A is not).
    const q = await fitBanditPrior(dir, { wasm: wasmBytes(), bundleBytes, delayedCost: 0.1, keep: (u) => u >= 5, weight: 0.3 });
    for (const t of q.arms) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) assert.equal(t.A[i * dim + j], t.A[j * dim + i]);
    assert.ok(Math.abs(q.arms[2].n - 0.3 * a2.n) < 1e-12);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('contextCost clamps to [0, 1]', () => {
  assert.equal(contextCost([0.5, 0.2], [1, 1]), 0.7);
  assert.equal(contextCost([-1, 0], [1, 1]), 0);
  assert.equal(contextCost([3, 0], [1, 1]), 1);
});
