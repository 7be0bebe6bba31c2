// The two timed loops of the WASM bench, shared by bench.mjs (one pass) and steady.mjs (interleaved
// rounds against native): the C ABI loop (exactly `disco bench`'s loop in runtime/cli/disco_cli.cpp)
// and the SDK's public path (track + recommend + offerSync, then recommend and rank separately).
import { Engine, Disco } from '../../sdk-js/src/node.js';
import { BundleRef, RuntimeRef } from '../../sdk-js/src/engine.js';

export const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(a.length * p))];

export function rawLoop(engine, bundleBytes, ITERS, { warmup = 1000 } = {}) {
  const bundle = new BundleRef(engine, bundleBytes);
  const rt = new RuntimeRef(engine, bundle, { seed: 1n, mode: 0 });
  const x = engine.x;
  const n = bundle.info.nItems;
  let s = rt.createSession(1n);
  const ev = x.dw_alloc(24), top = x.dw_alloc(40), sc = x.dw_alloc(40), nOut = x.dw_alloc(4), args = x.dw_alloc(24), offer = x.dw_alloc(120);
  const us = new Float64Array(ITERS), rec = new Float64Array(ITERS);
  let sink = 0;
  for (let i = -warmup; i < ITERS; i++) {
    const item = Number((BigInt(i + 1000) * 2654435761n) % BigInt(n));
    const ts = BigInt(i + 1000) * 1000n;
    const t0 = process.hrtime.bigint();
    const dv = engine._view();
    dv.setBigInt64(ev, ts, true); dv.setUint32(ev + 8, item, true); dv.setUint32(ev + 12, ((i % 3) + 3) % 3, true);
    dv.setFloat32(ev + 16, 0, true); dv.setInt32(ev + 20, 1, true);
    x.disco_observe(s.ptr, ev);
    const ta = process.hrtime.bigint();
    x.disco_recommend(s.ptr, 10, 0, top, sc, nOut);
    const tb = process.hrtime.bigint();
    const dv2 = engine._view();
    dv2.setBigInt64(args, ts, true); dv2.setBigUint64(args + 8, 0n, true); dv2.setBigUint64(args + 16, 0n, true);
    x.dw_offer_make(s.ptr, dv2.getUint32(top, true), args, offer);
    const t1 = process.hrtime.bigint();
    sink += engine._view().getUint32(offer + 20, true);
    if (i >= 0) { us[i] = Number(t1 - t0) / 1000; rec[i] = Number(tb - ta) / 1000; }
    if ((i + 1000) % 64 === 63) { s.free(); s = rt.createSession(BigInt(i + 2000)); }
  }
  const p = (a) => { a.sort(); return { p50: pct(a, 0.5), p99: pct(a, 0.99) }; };
  s.free(); rt.free(); bundle.free();
  return { ...p(us), recommend: p(rec), sink };
}

// ---- the SDK's public path: track(string id) + recommend({k:10}) + offerSync
export async function sdkLoop(w, { bundleBytes, key, ITERS, ITEMS, warmup = 1000, rank = true, engine = null }) {
  engine ??= await Engine.load(w);
  const open = (u) => Disco.create({ engine, bundle: bundleBytes, publicKey: key.spki, seed: 1, userKey: u });
  let d = await open(1);
  const us = new Float64Array(ITERS), rec = new Float64Array(ITERS), r50 = new Float64Array(ITERS), r500 = new Float64Array(ITERS);
  const ids = Array.from({ length: 500 }, (_, j) => `item-${(j * 40503 + 7) % ITEMS}`), ids50 = ids.slice(0, 50);
  for (let i = -warmup; i < ITERS; i++) {
    if ((i + 1000) % 64 === 63) { d.close(); d = await open(i + 2000); } // a fresh shopper now and then, as native
    const item = `item-${(i + 1000) * 7919 % ITEMS}`;
    const t0 = process.hrtime.bigint();
    d.track({ type: 'view', itemId: item, ts: 1_700_000_000_000 + i * 1000 });
    const recs = d.recommend({ k: 10 });
    d.offerSync(recs[0].itemId, { now: 1_700_000_000_000 + i * 1000 });
    const t1 = process.hrtime.bigint();
    let t2 = t1, t3 = t1, t4 = t1;
    if (rank) {
      d.recommend({ k: 10 });
      t2 = process.hrtime.bigint();
      d.rank(ids50);
      t3 = process.hrtime.bigint();
      d.rank(ids);
      t4 = process.hrtime.bigint();
    }
    if (i >= 0) {
      us[i] = Number(t1 - t0) / 1000; rec[i] = Number(t2 - t1) / 1000;
      r50[i] = Number(t3 - t2) / 1000; r500[i] = Number(t4 - t3) / 1000;
    }
  }
  const p = (a) => { a.sort(); return { p50: pct(a, 0.5), p99: pct(a, 0.99) }; };
  d.close();
  return rank ? { ...p(us), recommend: p(rec), rank50: p(r50), rank500: p(r500) } : p(us);
}

