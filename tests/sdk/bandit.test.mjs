// RuntimeRef.banditExport / banditImport on the real disco.wasm (disco_bandit_export/import):
// statistics learnt by one runtime move to another and steer it; the delta export resets; bytes
// for another context length or arm count are refused with the runtime's message.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Engine, BundleRef, RuntimeRef } from '../../sdk-js/src/engine.js';
import { DiscoError } from '../../sdk-js/src/errors.js';
import { makeBundle, wasmBytes } from './helpers.mjs';

const T0 = 1_700_000_000_000;

async function runtime(seed) {
  const engine = await Engine.load(wasmBytes());
  const bundle = new BundleRef(engine, makeBundle({ items: 200, dim: 16, hidden: 32 }));
  return { engine, bundle, rt: new RuntimeRef(engine, bundle, { seed, mode: 0 }) };
}

// One offer per new shopper on item 3; `reward(arm)` is reported back for each shown offer.
function play(rt, shoppers, reward, first = 0) {
  const counts = new Map();
  for (let s = first; s < first + shoppers; s++) {
    const ses = rt.createSession(BigInt(5000 + s));
    ses.observe(3, 2, T0 + s, 10, 1);
    const o = ses.offer(3, T0 + s + 100);
    counts.set(o.arm, (counts.get(o.arm) ?? 0) + 1);
    if (reward) {
      rt.shown(o.decisionId);
      const r = reward(o.arm);
      assert.equal(rt.update(o.decisionId, { ts: T0 + s + 200, converted: r > 0, revenue: r, reward: r }), 'OK');
    }
    ses.free();
  }
  return counts;
}

// Statistics layout (runtime/src/state.cpp, disco_bandit_export): u32 magic, u32 version, u32 arms,
// u32 dim, then per arm A, b, n, reward_sum; n of arm a sits at a fixed offset.
function armN(bytes, arm) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = dv.getUint32(12, true);
  const perArm = 8 + 8 * dim * dim + 8 + 8 * dim + 16;
  return dv.getFloat64(16 + 4 + 8 + arm * perArm + 8 + 8 * dim * dim + 8 + 8 * dim, true);
}

test('banditExport -> banditImport: another runtime gets the statistics and follows them', async () => {
  const a = await runtime(1n);
  // The 5% arm (1) pays, every other arm loses (margin +-40 on a price-10 item: the runtime's reward
  // is margin / price, clamped to +-4): the learner's statistics favour it.
  play(a.rt, 600, (arm) => (arm === 1 ? 40 : -40));
  const all = a.rt.banditExport();
  assert.ok(all instanceof Uint8Array);
  const dv = new DataView(all.buffer, all.byteOffset);
  assert.equal(dv.getUint32(0, true), 0x53425344, 'magic');
  assert.equal(dv.getUint32(8, true), a.bundle.info.nArms);
  assert.equal(dv.getUint32(12, true), 15, 'context length (runtime/include/disco/context.h kContextDim)');
  let total = 0;
  for (let k = 0; k < a.bundle.info.nArms; k++) total += armN(all, k);
  assert.equal(total, 600, 'every shown offer with an outcome is counted once');

  const b = await runtime(2n);
  const before = play(b.rt, 300, null);
  b.rt.banditImport(all, false);
  assert.deepEqual(b.rt.banditExport(), all, 'replace installs exactly the exported statistics');
  const after = play(b.rt, 300, null, 1000);
  assert.ok((after.get(1) ?? 0) >= 0.8 * 300, `after import arm 1 should dominate: ${JSON.stringify([...after])}`);
  assert.ok((before.get(1) ?? 0) < 0.5 * 300, `before import arm 1 should not dominate: ${JSON.stringify([...before])}`);

  // merge adds; the delta export holds only what came since the last delta export, then resets
  b.rt.banditImport(all, true);
  for (let k = 0; k < b.bundle.info.nArms; k++) assert.equal(armN(b.rt.banditExport(), k), 2 * armN(all, k));
  const d1 = a.rt.banditExport(true);
  let n1 = 0;
  for (let k = 0; k < a.bundle.info.nArms; k++) n1 += armN(d1, k);
  assert.equal(n1, 600);
  play(a.rt, 10, () => 1, 2000);
  const d2 = a.rt.banditExport(true);
  let n2 = 0;
  for (let k = 0; k < a.bundle.info.nArms; k++) n2 += armN(d2, k);
  assert.equal(n2, 10, 'the second delta holds only the 10 new outcomes');
  for (const x of [a, b]) { x.rt.free(); x.bundle.free(); }
});

test('banditImport refuses another context length, arm count or garbage with the runtime message', async () => {
  const { rt, bundle } = await runtime(3n);
  const good = rt.banditExport();
  const dv = new DataView(good.buffer, good.byteOffset);
  const nArms = dv.getUint32(8, true);
  const dim = dv.getUint32(12, true);
  // the same statistics relabelled as 11 features: refused before anything is touched
  const wrongDim = good.slice();
  new DataView(wrongDim.buffer).setUint32(12, 11, true);
  assert.throws(() => rt.banditImport(wrongDim), (e) => e instanceof DiscoError && e.code === 'STATE' &&
    e.message.includes(`bandit statistics are for ${nArms} arms x 11 features; this runtime has ${nArms} x ${dim}`));
  const wrongArms = good.slice();
  new DataView(wrongArms.buffer).setUint32(8, nArms + 1, true);
  assert.throws(() => rt.banditImport(wrongArms), (e) => e.code === 'STATE' && e.message.includes(`for ${nArms + 1} arms`));
  assert.throws(() => rt.banditImport(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), (e) => e.code === 'STATE' && /bad magic/.test(e.message));
  assert.throws(() => rt.banditImport(good.subarray(0, good.length - 9)), (e) => e.code === 'STATE' && /truncated|corrupted/.test(e.message));
  assert.deepEqual(rt.banditExport(), good, 'a refused import leaves the statistics as they were');
  rt.free();
  bundle.free();
});
