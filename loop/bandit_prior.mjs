// Warm-start prior for the discount bandit, fitted on a randomized pilot's logged decisions
// (loop/README.md, "Warm start").
//
// The pilot (`disco-sim --logging-policy uniform` on the same store, shoppers the loop never serves)
// logs events, decisions (arm, logged propensity) and outcomes. Each pilot shopper's events and
// decisions are replayed in time order through a real disco runtime (disco.wasm, the bundle the
// edges start with, logging-only mode) so that every pilot decision gets the context the runtime
// would have built at that moment (model propensity, recency, full-price and discounted visit
// history, exposure, cart, ...). Logging-only mode always "shows" arm 0, so after each decision the
// pilot's logged arm is recorded in the session with disco_session_note_offer (SessionRef.noteOffer):
// the features that depend on the discounts a shopper received (exposure, offer recency, discounted
// visits; runtime/src/context.cpp) are then the runtime's own. Then, per arm a, IPS-weighted ridge statistics
//
//   A_a = sum w x x^T,  b_a = sum w r x,  n_a = sum w,   w = 1 / (n_arms * logged propensity)
//
// with r = clamp((margin - delayedCost * price * [arm != 0]) / price, +-4): the reward the edges
// report. These statistics become the bundle's warm start (`disco-train export --bandit-prior`,
// BanditPrior in schemas/bundle.fbs); the runtime keeps them apart from the observed statistics
// that each pull replaces with the fleet's, so the prior is counted exactly once.
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';

import { Engine, BundleRef, RuntimeRef } from '../sdk-js/src/engine.js';
import { fnv1a64 } from '../sdk-js/src/util.js';

const EVENT_TYPE = { view: 0, click: 1, cart: 2, remove: 3, purchase: 4 };
const MS_DAY = 86400000;

function readCsv(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  if (!lines.length) throw new Error(`${file}: empty (expected a header line)`);
  const header = lines[0].split(',');
  const col = Object.fromEntries(header.map((h, i) => [h, i]));
  return { col, rows: lines.slice(1).map((l) => l.split(',')), file };
}

function need(t, names) {
  for (const n of names) if (!(n in t.col)) throw new Error(`${t.file}: missing column '${n}' (header: ${Object.keys(t.col).join(',')})`);
}

const userIndex = (u) => (u.startsWith('u') ? Number(u.slice(1)) : NaN);

// Streams a CSV whose first column is user_id, keeping only the rows of the chosen shoppers (the
// pilot's events.csv is ~200 MB for 100k shoppers; only the replayed ones are needed).
async function readCsvForUsers(file, chosen) {
  const rl = createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let header = null;
  const rows = [];
  for await (const line of rl) {
    if (!line) continue;
    if (header === null) { header = line.split(','); continue; }
    if (chosen.has(userIndex(line.slice(0, line.indexOf(','))))) rows.push(line.split(','));
  }
  if (header === null) throw new Error(`${file}: empty (expected a header line)`);
  if (header[0] !== 'user_id') throw new Error(`${file}: the first column must be user_id (header: ${header.join(',')})`);
  return { col: Object.fromEntries(header.map((h, i) => [h, i])), rows, file };
}

/**
 * Fits the prior. pilotDir: canonical CSV folder (items, events, decisions, outcomes).
 * keep(userIndex) selects the pilot shoppers to use (never the loop's own); maxShoppers caps them
 * (the lowest indices that pass keep). Returns { arms: [{arm, dim, A, b, n, reward_sum}], ... }
 * in the collector's /v1/bandit-state shape, plus counts.
 */
export async function fitBanditPrior(pilotDir, { wasm, bundleBytes, delayedCost, keep, maxShoppers = 20000, weight = 1, horizonDays = 21 }) {
  const items = readCsv(path.join(pilotDir, 'items.csv'));
  const dec = readCsv(path.join(pilotDir, 'decisions.csv'));
  const out = readCsv(path.join(pilotDir, 'outcomes.csv'));
  need(items, ['item_id', 'price']);
  need(dec, ['decision_id', 'ts', 'user_id', 'item_id', 'arm', 'propensity']);
  need(out, ['decision_id', 'margin']);
  const price = new Map(items.rows.map((r) => [r[items.col.item_id], Number(r[items.col.price])]));
  const margin = new Map(out.rows.map((r) => [r[out.col.decision_id], Number(r[out.col.margin])]));

  // Shoppers to replay: the lowest indices that keep() accepts and that have decisions.
  const decUsers = new Set();
  for (const r of dec.rows) {
    const u = userIndex(r[dec.col.user_id]);
    if (Number.isInteger(u) && keep(u)) decUsers.add(u);
  }
  const chosen = new Set([...decUsers].sort((a, b) => a - b).slice(0, maxShoppers));
  const ev = await readCsvForUsers(path.join(pilotDir, 'events.csv'), chosen);
  need(ev, ['user_id', 'ts', 'type', 'item_id', 'price', 'quantity']);
  const streams = new Map();  // user index -> [{ ts, kind: 0 event | 1 decision, row }]
  const push = (u, x) => { let s = streams.get(u); if (!s) streams.set(u, (s = [])); s.push(x); };
  for (const r of ev.rows) {
    const u = userIndex(r[ev.col.user_id]);
    if (chosen.has(u)) push(u, { ts: Number(r[ev.col.ts]), kind: 0, r });
  }
  for (const r of dec.rows) {
    const u = userIndex(r[dec.col.user_id]);
    if (chosen.has(u)) push(u, { ts: Number(r[dec.col.ts]), kind: 1, r });
  }

  const engine = await Engine.load(wasm);
  const bundle = new BundleRef(engine, bundleBytes);
  const KCONTEXT_DIM = 15;  // runtime/include/disco/context.h kContextDim: a bundle's context_dim 0 means it
  const nArms = bundle.info.nArms, dim = bundle.info.contextDim || KCONTEXT_DIM;
  const runtime = new RuntimeRef(engine, bundle, { seed: 1n, mode: 2, maxPendingDecisions: 64 });
  const arms = Array.from({ length: nArms }, (_, a) => ({ arm: a, dim, A: new Float64Array(dim * dim), b: new Float64Array(dim), n: 0, reward_sum: 0 }));
  let decisions = 0, skipped = 0;
  const recs = [];  // per pilot decision: { x, arm, r (immediate scaled margin), w, y (IPS future no-discount margin) | null }
  let tMax = -Infinity;
  for (const r of dec.rows) tMax = Math.max(tMax, Number(r[dec.col.ts]));
  const H = horizonDays * MS_DAY;
  const idx = (item) => { try { return bundle.index(item); } catch (e) { if (e.code === 'UNKNOWN_ITEM') return -1; throw e; } };
  for (const [u, list] of streams) {
    list.sort((a, b) => a.ts - b.ts || a.kind - b.kind);  // an offer follows the cart add at its time
    const session = runtime.createSession(fnv1a64(`u${u}`));
    const mine = [];
    for (const x of list) {
      const r = x.r;
      if (x.kind === 0) {
        const i = idx(r[ev.col.item_id]);
        const type = EVENT_TYPE[r[ev.col.type]];
        if (i < 0 || type === undefined) { skipped++; continue; }
        session.observe(i, type, x.ts, Number(r[ev.col.price]), Number(r[ev.col.quantity]) || 1);
        continue;
      }
      const itemId = r[dec.col.item_id];
      const i = idx(itemId);
      const pr = price.get(itemId);
      const arm = Number(r[dec.col.arm]), p = Number(r[dec.col.propensity]);
      if (i < 0 || !(pr > 0) || !Number.isInteger(arm) || arm < 0 || arm >= nArms || !(p > 0 && p <= 1)) { skipped++; continue; }
      const o = session.offer(i, x.ts);
      const ctx = o.context.slice(0, dim);
      session.noteOffer(arm, x.ts);  // the pilot showed `arm`, not logging-only's arm 0
      const m = margin.get(r[dec.col.decision_id]) ?? 0;
      mine.push({ x: ctx, arm, ts: x.ts, p, r: Math.max(-4, Math.min(4, m / pr)), w: weight / (nArms * p), y: null });
      decisions++;
    }
    session.free();
    // Y_d (delayed_cost.mjs): the shopper's scaled margin at later no-discount decisions within H,
    // IPS-weighted; only decisions with a full horizon ahead.
    for (let i = 0; i < mine.length; i++) {
      if (mine[i].ts > tMax - H) continue;
      let y = 0;
      for (let j = i + 1; j < mine.length && mine[j].ts <= mine[i].ts + H; j++) if (mine[j].arm === 0) y += mine[j].r / mine[j].p;
      mine[i].y = y;
    }
    for (const d of mine) recs.push(d);
  }
  runtime.free();
  bundle.free();

  // Per-context delayed cost (delayedCost === 'context'): ridge fits of Y on x for arm-0 decisions
  // and for discounted ones; cost(x) = x . (theta_0 - theta_disc), in units of the price, clamped
  // to [0, 1]. Arms are randomized, so the difference is causal given x.
  let costModel = null;
  if (delayedCost === 'context') {
    const fit = (sel) => {
      const A = Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (_, j) => (i === j ? 1 : 0)));
      const b = new Array(dim).fill(0);
      for (const d of recs) {
        if (d.y === null || !sel(d.arm)) continue;
        for (let i = 0; i < dim; i++) { b[i] += d.y * d.x[i]; for (let j = 0; j < dim; j++) A[i][j] += d.x[i] * d.x[j]; }
      }
      return solve(A, b);
    };
    const t0 = fit((a) => a === 0), t1 = fit((a) => a !== 0);
    costModel = t0.map((v, i) => v - t1[i]);
  }
  const costOf = (x) => (costModel === null ? delayedCost : contextCost(costModel, x));
  let costSum = 0, costN = 0;
  for (const d of recs) {
    const reward = Math.max(-4, Math.min(4, d.r - (d.arm !== 0 ? costOf(d.x) : 0)));
    if (d.arm !== 0) { costSum += costOf(d.x); costN++; }
    const t = arms[d.arm];
    for (let a = 0; a < dim; a++) {
      t.b[a] += d.w * reward * d.x[a];
      for (let c = a; c < dim; c++) {
        const v = d.w * d.x[a] * d.x[c];  // one product for both halves: A stays exactly symmetric
        t.A[a * dim + c] += v;
        if (c !== a) t.A[c * dim + a] += v;
      }
    }
    t.n += d.w;
    t.reward_sum += d.w * reward;
  }
  return {
    shoppers: streams.size, decisions, skipped, weight, nArms, dim, cost_model: costModel, mean_cost: costN ? costSum / costN : 0,
    arms: arms.map((t) => ({ arm: t.arm, dim, A: Array.from(t.A), b: Array.from(t.b), n: t.n, reward_sum: t.reward_sum })),
  };
}

/** Delayed cost of a discount for context x (units of the price): the prior's per-context model. */
export function contextCost(costModel, x) {
  let c = 0;
  for (let i = 0; i < costModel.length; i++) c += costModel[i] * (x[i] ?? 0);
  return Math.max(0, Math.min(1, c));
}

// Gaussian elimination with partial pivoting (small symmetric positive definite systems).
function solve(A, b) {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = M[r][n];
    for (let k = r + 1; k < n; k++) v -= M[r][k] * x[k];
    x[r] = v / M[r][r];
  }
  return x;
}
