// The delayed cost of a discount, estimated off-policy from a randomized log (loop/README.md,
// "The reward").
//
// A discount's immediate margin is what the bandit sees; what it does not see is that the shopper
// buys less often without a discount afterwards (habituation). With a log whose arms were drawn at
// random with known propensities (decisions.csv + outcomes.csv + items.csv in the canonical format
// of trainer/data/README.md, e.g. `disco-sim --logging-policy uniform`: a randomized pilot), the
// cost is identified without a model:
//
//   Y_d = sum over the same shopper's later decisions j with t_d < t_j <= t_d + H and arm_j = 0 of
//         r_j / p_j            (r = margin / price as the bandit scales it, p_j = logged propensity)
//
// is, in expectation, the shopper's scaled no-discount margin over the next H days had every later
// offer been "no discount" (inverse propensity weighting of the later decisions). Because arm_d is
// randomized, E[Y | arm_d = 0] - E[Y | arm_d = a] is the causal future loss caused by giving arm a
// at d. Only decisions with a full horizon ahead (t_d <= end - H) count. The standard error is by
// shopper clusters (a shopper's decisions share one future).
//
// Reported per arm and pooled over all discount arms (the pooled figure is what the loop charges).
import fs from 'node:fs';
import path from 'node:path';

const DAY_MS = 86400000;

function readCsv(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error(`${file}: empty (expected a header line)`);
  const header = lines[0].split(',');
  const col = Object.fromEntries(header.map((h, i) => [h, i]));
  return { col, rows: lines.slice(1).map((l) => l.split(',')), file };
}

function need(t, names) {
  for (const n of names) if (!(n in t.col)) throw new Error(`${t.file}: missing column '${n}' (header: ${Object.keys(t.col).join(',')})`);
}

// keepUser(index of 'u<index>') selects the shoppers to use (default all).
export function estimateDelayedCost(dir, { horizonDays = 21, keepUser = null } = {}) {
  const dec = readCsv(path.join(dir, 'decisions.csv'));
  const out = readCsv(path.join(dir, 'outcomes.csv'));
  const items = readCsv(path.join(dir, 'items.csv'));
  need(dec, ['decision_id', 'ts', 'user_id', 'item_id', 'arm', 'propensity']);
  need(out, ['decision_id', 'margin']);
  need(items, ['item_id', 'price']);
  const price = new Map(items.rows.map((r) => [r[items.col.item_id], Number(r[items.col.price])]));
  const margin = new Map(out.rows.map((r) => [r[out.col.decision_id], Number(r[out.col.margin])]));
  const byUser = new Map();
  let tMax = -Infinity, nArms = 0;
  for (const [line, r] of dec.rows.entries()) {
    const ts = Number(r[dec.col.ts]), arm = Number(r[dec.col.arm]), p = Number(r[dec.col.propensity]);
    const pr = price.get(r[dec.col.item_id]);
    if (!Number.isFinite(ts) || !Number.isInteger(arm) || arm < 0 || !(p > 0 && p <= 1))
      throw new Error(`${dec.file}:${line + 2}: bad ts, arm or propensity`);
    if (!(pr > 0)) continue;  // unknown item: no price to scale by
    const u = r[dec.col.user_id];
    if (keepUser && !keepUser(u.startsWith('u') ? Number(u.slice(1)) : NaN)) continue;
    const m = margin.get(r[dec.col.decision_id]) ?? 0;  // no outcome row: not converted
    const d = { ts, arm, p, r: Math.max(-4, Math.min(4, m / pr)) };
    if (!byUser.has(u)) byUser.set(u, []);
    byUser.get(u).push(d);
    tMax = Math.max(tMax, ts);
    nArms = Math.max(nArms, arm + 1);
  }
  const H = horizonDays * DAY_MS;
  // Per shopper cluster: sums of Y and counts per arm of d (for a cluster-robust SE of the difference).
  const clusters = [];
  const rewards = [];
  for (const list of byUser.values()) {
    list.sort((a, b) => a.ts - b.ts);
    const c = { y: new Float64Array(nArms), n: new Float64Array(nArms) };
    for (let i = 0; i < list.length; i++) {
      rewards.push(list[i].r);
      if (list[i].ts > tMax - H) continue;
      let y = 0;
      for (let j = i + 1; j < list.length && list[j].ts <= list[i].ts + H; j++)
        if (list[j].arm === 0) y += list[j].r / list[j].p;
      c.y[list[i].arm] += y;
      c.n[list[i].arm] += 1;
    }
    clusters.push(c);
  }
  const mean = (a) => {
    let Y = 0, N = 0;
    for (const c of clusters) for (const k of a) Y += c.y[k], N += c.n[k];
    return { m: N > 0 ? Y / N : NaN, N };
  };
  // Difference of ratio means with a cluster (shopper) linearized variance.
  const diff = (a0, a1) => {
    const g0 = mean(a0), g1 = mean(a1);
    let v0 = 0, v1 = 0;
    for (const c of clusters) {
      let e0 = 0, e1 = 0;
      for (const k of a0) e0 += c.y[k] - g0.m * c.n[k];
      for (const k of a1) e1 += c.y[k] - g1.m * c.n[k];
      v0 += e0 * e0; v1 += e1 * e1;
    }
    const se = Math.sqrt(v0 / (g0.N * g0.N) + v1 / (g1.N * g1.N));
    return { cost: g0.m - g1.m, se, n: g1.N, future_no_discount: g0.m };
  };
  const discountArms = Array.from({ length: nArms - 1 }, (_, k) => k + 1);
  const perArm = discountArms.map((a) => ({ arm: a, ...diff([0], [a]) }));
  const pooled = diff([0], discountArms);
  const mr = rewards.reduce((s, x) => s + x, 0) / rewards.length;
  const sd = Math.sqrt(rewards.reduce((s, x) => s + (x - mr) ** 2, 0) / Math.max(1, rewards.length - 1));
  return { horizon_days: horizonDays, decisions: rewards.length, shoppers: byUser.size, pooled, per_arm: perArm, reward_mean: mr, reward_std: sd };
}

// CLI: node loop/delayed_cost.mjs DIR [HORIZON_DAYS]
if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, h] = process.argv.slice(2);
  if (!dir) { console.error('usage: node loop/delayed_cost.mjs DIR [HORIZON_DAYS]'); process.exit(2); }
  console.log(JSON.stringify(estimateDelayedCost(dir, { horizonDays: h ? Number(h) : 21 }), null, 1));
}
