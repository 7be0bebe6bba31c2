// The two timed loops of the WASM bench, shared by bench.mjs (one pass) and steady.mjs (interleaved
// rounds against native): the C ABI loop (exactly `disco bench`'s loop in runtime/cli/disco_cli.cpp)
// and the SDK's public path (track + recommend + offerSync, then recommend and rank separately).
// Browser-safe (bench/wasm/steady.mjs --chromium runs them in a page): the SDK's main entry, a clock
// in microseconds (process.hrtime in Node; performance.now in a page, 5 us steps when the page is
// cross-origin isolated, 100 us otherwise).
import { Engine, Disco as BrowserDisco } from '../../sdk-js/src/index.js';
import { BundleRef, RuntimeRef } from '../../sdk-js/src/engine.js';

const clock = globalThis.process?.hrtime?.bigint ? () => process.hrtime.bigint() : () => performance.now();
const micros = globalThis.process?.hrtime?.bigint ? (a, b) => Number(b - a) / 1000 : (a, b) => (b - a) * 1000;

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
    const t0 = clock();
    const dv = engine._view();
    dv.setBigInt64(ev, ts, true); dv.setUint32(ev + 8, item, true); dv.setUint32(ev + 12, ((i % 3) + 3) % 3, true);
    dv.setFloat32(ev + 16, 0, true); dv.setInt32(ev + 20, 1, true);
    x.disco_observe(s.ptr, ev);
    const ta = clock();
    x.disco_recommend(s.ptr, 10, 0, top, sc, nOut);
    const tb = clock();
    const dv2 = engine._view();
    dv2.setBigInt64(args, ts, true); dv2.setBigUint64(args + 8, 0n, true); dv2.setBigUint64(args + 16, 0n, true);
    x.dw_offer_make(s.ptr, dv2.getUint32(top, true), args, offer);
    const t1 = clock();
    sink += engine._view().getUint32(offer + 20, true);
    if (i >= 0) { us[i] = micros(t0, t1); rec[i] = micros(ta, tb); }
    if ((i + 1000) % 64 === 63) { s.free(); s = rt.createSession(BigInt(i + 2000)); }
  }
  const p = (a) => { a.sort(); return { p50: pct(a, 0.5), p99: pct(a, 0.99) }; };
  s.free(); rt.free(); bundle.free();
  return { ...p(us), recommend: p(rec), sink };
}

// ---- the SDK's public path: track(string id) + recommend({k:10}) + offerSync
export async function sdkLoop(w, { bundleBytes, key, ITERS, ITEMS, warmup = 1000, rank = true, engine = null, Disco = BrowserDisco }) {
  engine ??= await Engine.load(w);
  const open = (u) => Disco.create({ engine, bundle: bundleBytes, publicKey: key.spki, seed: 1, userKey: u });
  let d = await open(1);
  const us = new Float64Array(ITERS), rec = new Float64Array(ITERS), r50 = new Float64Array(ITERS), r500 = new Float64Array(ITERS);
  const ids = Array.from({ length: 500 }, (_, j) => `item-${(j * 40503 + 7) % ITEMS}`), ids50 = ids.slice(0, 50);
  for (let i = -warmup; i < ITERS; i++) {
    if ((i + 1000) % 64 === 63) { d.close(); d = await open(i + 2000); } // a fresh shopper now and then, as native
    const item = `item-${(i + 1000) * 7919 % ITEMS}`;
    const t0 = clock();
    d.track({ type: 'view', itemId: item, ts: 1_700_000_000_000 + i * 1000 });
    const recs = d.recommend({ k: 10 });
    d.offerSync(recs[0].itemId, { now: 1_700_000_000_000 + i * 1000 });
    const t1 = clock();
    let t2 = t1, t3 = t1, t4 = t1;
    if (rank) {
      d.recommend({ k: 10 });
      t2 = clock();
      d.rank(ids50);
      t3 = clock();
      d.rank(ids);
      t4 = clock();
    }
    if (i >= 0) {
      us[i] = micros(t0, t1); rec[i] = micros(t1, t2);
      r50[i] = micros(t2, t3); r500[i] = micros(t3, t4);
    }
  }
  const p = (a) => { a.sort(); return { p50: pct(a, 0.5), p99: pct(a, 0.99) }; };
  d.close();
  return rank ? { ...p(us), recommend: p(rec), rank50: p(r50), rank500: p(r500) } : p(us);
}

