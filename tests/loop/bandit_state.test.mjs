// loop/bandit_state.mjs: the collector's bandit-state JSON reaches a real disco.wasm runtime and
// steers its decisions (behavioural check: statistics that favour one arm make the bandit pick it).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Engine, BundleRef, RuntimeRef } from '../../sdk-js/src/engine.js';
import { encodeBanditStats, importFleetStats, banditConfigAndPrior } from '../../loop/bandit_state.mjs';
import { makeBundle, wasmBytes } from '../sdk/helpers.mjs';

const DIM = 15;  // runtime/include/disco/context.h kContextDim (the test bundles leave context_dim 0 = all)

// Statistics as the collector serves them: `favour` earns reward `r` on n observations of the bias
// feature, every other arm earns 0 on as many.
function collectorState(nArms, favour, r, n = 5000) {
  const arms = [];
  for (let a = 0; a < nArms; a++) {
    const A = new Array(DIM * DIM).fill(0);
    const b = new Array(DIM).fill(0);
    A[0] = n;  // x = (1, 0, ..., 0)
    for (let i = 1; i < DIM; i++) A[i * DIM + i] = n;  // well conditioned
    b[0] = a === favour ? r * n : 0;
    arms.push({ arm: a, dim: DIM, n, reward_sum: b[0], A, b });
  }
  return { version: 7, site: 'test', arms };
}

async function runtime() {
  const engine = await Engine.load(wasmBytes());
  const bundle = new BundleRef(engine, makeBundle({ items: 200, dim: 16, hidden: 32 }));
  const rt = new RuntimeRef(engine, bundle, { seed: 5n, mode: 0 });
  return { engine, bundle, rt };
}

function armCounts(rt, nArms, shoppers = 200) {
  const counts = new Array(nArms).fill(0);
  for (let s = 0; s < shoppers; s++) {
    const ses = rt.createSession(BigInt(1000 + s));
    ses.observe(3, 0, 1_700_000_000_000 + s, 0, 1);
    counts[ses.offer(3, 1_700_000_000_100 + s).arm]++;
    ses.free();
  }
  return counts;
}

test('encodeBanditStats: layout, missing arms as zeros, refusals', () => {
  const st = collectorState(6, 2, 0.5);
  const bytes = encodeBanditStats(st, 6, DIM);
  assert.equal(bytes.length, 16 + 4 + 8 + 6 * (8 + 8 * DIM * DIM + 8 + 8 * DIM + 16));
  const dv = new DataView(bytes.buffer);
  assert.equal(dv.getUint32(0, true), 0x53425344);
  assert.equal(dv.getUint32(8, true), 6);
  assert.equal(dv.getUint32(12, true), DIM);
  const sparse = encodeBanditStats({ version: 1, arms: [st.arms[4]] }, 6, DIM);
  assert.equal(sparse.length, bytes.length);
  assert.throws(() => encodeBanditStats({ arms: [{ ...st.arms[0], arm: 9 }] }, 6, DIM), /arm 9 out of range/);
  assert.throws(() => encodeBanditStats({ arms: [{ ...st.arms[0], A: [1, 2] }] }, 6, DIM), /A must have 225/);
  // statistics of another context size are not this runtime's: ignored, not mixed in
  assert.deepEqual(encodeBanditStats({ arms: [{ ...st.arms[0], dim: 3 }] }, 6, DIM), encodeBanditStats({ arms: [] }, 6, DIM));
});

test('importFleetStats steers a real runtime toward the arm the fleet found best', async () => {
  const { engine, bundle, rt } = await runtime();
  const nArms = bundle.info.nArms;
  // the runtime's bandit works on kContextDim = 15 features (runtime/include/disco/context.h)
  for (const favour of [0, nArms - 1]) {
    const how = importFleetStats(engine, rt, encodeBanditStats(collectorState(nArms, favour, 1.0), nArms, DIM));
    assert.ok(how.length > 0);
    const counts = armCounts(rt, nArms);
    // exploration floor 0.02 and guardrails aside, the favoured arm wins nearly always
    assert.ok(counts[favour] >= 0.85 * 200, `favour arm ${favour}: counts ${counts}`);
  }
  // replace, not add: importing "nothing observed" again gives back an exploring bandit
  importFleetStats(engine, rt, encodeBanditStats({ arms: [] }, nArms, DIM));
  const counts = armCounts(rt, nArms);
  assert.ok(Math.max(...counts) < 0.85 * 200, `after a reset: counts ${counts}`);
});

test('importFleetStats: banditImport and the save/restore fallback (old disco.wasm) leave the same runtime state', async () => {
  const a = await runtime();
  const b = await runtime();
  const nArms = a.bundle.info.nArms;
  const bytes = encodeBanditStats(collectorState(nArms, 1, 0.7), nArms, DIM);
  const cfgBefore = banditConfigAndPrior(a.rt);
  assert.match(importFleetStats(a.engine, a.rt, bytes), /banditImport/);
  // an engine without disco_bandit_import: the fallback rewrites the statistics in the saved state
  const oldEngine = { x: { ...b.engine.x, disco_bandit_import: undefined } };
  assert.match(importFleetStats(oldEngine, b.rt, bytes), /save\/restore/);
  assert.deepEqual(a.rt.save(), b.rt.save(), 'both paths must install the same statistics');
  assert.deepEqual(a.rt.banditExport(), bytes, 'replace: exactly the fleet statistics');
  assert.deepEqual(banditConfigAndPrior(a.rt), cfgBefore, 'the prior and the configuration (noise scale) are kept');
});
