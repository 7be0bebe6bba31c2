// Step 5: the loop days. Every time step (--pull-every-s simulated seconds) the simulator sends the
// step's browsing events and offer points in time order; the events go to the shopper's edge (with
// its next request), each offer point gets an offer from the shopper's edge (POST /offer, /shown), the
// arms go back to the simulator, which draws the outcomes; outcomes reach the deciding edge at
// checkout time (POST /report). At each step end every edge flushes and syncs (fleetSync). A retrain
// runs at the start of every --retrain-every-days-th day. Prints the per-day table.
import { fleetSync } from './edges.mjs';
import { fmt, pad } from './format.mjs';
import { retrain } from './retrain.mjs';

/**
 * Returns { nDays, H (history days), disco (per loop day: decisions, conversions, revenue, margin,
 * discount_spend, as the edges saw them), bestFixed, retrains, versions, firstVersion, current }.
 */
export async function runDays(o, logs, { sim, head, baselines, fleet, col, pilotLog, current }) {
  const { log } = logs;
  const { edges, edgeOf, clock } = fleet;
  const DAY = head.day_ms;
  const nDays = o.days;
  const disco = Array.from({ length: nDays }, () => ({ decisions: 0, conversions: 0, revenue: 0, margin: 0, discount_spend: 0 }));
  const outcomesDue = [];  // { ts, edge, decisionId, shopper, item, r }, delivered at checkout time
  const offerInfo = new Map();  // offer k -> { edge, decisionId, shopper, item }
  const retrains = [];
  const gateByDay = new Map();
  const versions = [];
  let firstVersion = null;
  const deliverUntil = async (t) => {
    if (!outcomesDue.length) return;
    outcomesDue.sort((a, b) => a.ts - b.ts);
    let n = 0;
    while (n < outcomesDue.length && outcomesDue[n].ts <= t) {
      const d = outcomesDue[n++];
      await d.edge.report(d.decisionId, d.shopper, d.item, d.r);
    }
    if (n) outcomesDue.splice(0, n);
  };
  const grp = (n) => `${pad(n, 8)} ${pad('revenue', 8)} ${pad('conv%', 5)} ${pad('spend', 6)}`;
  const header = `${pad('day', 3)} ${pad('model', 5)} ${pad('gate', 7)} | ${grp('disco')} | ${grp('fixed')} | ${grp('none')} | ${pad('oracle', 7)} | ${pad('%oracle', 7)} ${pad('bandit v', 8)}`;
  const cols = (margin, revenue, conv, decisions, spend) =>
    `${pad(fmt(margin), 8)} ${pad(fmt(revenue), 8)} ${pad((100 * conv / Math.max(1, decisions)).toFixed(1), 5)} ${pad(fmt(spend), 6)}`;
  const baseCols = (b, g) => cols(b.margin[g], b.revenue[g], b.conversions[g], b.decisions[g], b.discount_spend[g]);
  const H = o.historyDays;
  const fixedTotals = baselines.fixed.map((f) => f.margin.slice(H).reduce((a, b) => a + b, 0));
  let bestFixed = 1;
  for (let a = 2; a < fixedTotals.length; a++) if (fixedTotals[a] > fixedTotals[bestFixed]) bestFixed = a;
  log(`fixed-discount baseline: the best fixed discount arm over the loop days is ${baselines.arms[bestFixed]} ` +
    `(no discount ${fmt(fixedTotals[0])}, ${baselines.arms[bestFixed]} ${fmt(fixedTotals[bestFixed])} total margin)`);
  log(header);

  const stepMs = o.pullEveryS * 1000;
  for (let day = 0; day < nDays; day++) {
    const dayStart = head.loop_start_ms + day * DAY;
    // Retrain at the start of every M-th day, as a store would: the collector's canonical export
    // is the training set (disco-train train, bounded), the policy is refitted through the new
    // model on the pilot's export, and disco-eval gate decides on the loop's own log whether the
    // candidate replaces the running bundle. Promoted: published; the edges swap at their next sync.
    if (day > 0 && day % o.retrainEveryDays === 0) {
      const r = await retrain(o, logs, retrains.length + 1, day, { colData: col.data, pilotLog, current });
      current = r.current;
      retrains.push(r.rec);
      gateByDay.set(day, r.rec.gate.decision);
    }
    for (let t = dayStart; t < dayStart + DAY; t += stepMs) {
      const tEnd = Math.min(t + stepMs, dayStart + DAY);
      sim.send(`STEP ${tEnd}`);
      const lines = [];
      await sim.until((l) => lines.push(l));
      const armsOut = [];
      for (const l of lines) {
        // "E ts shopper session item type price" | "O k ts shopper session item checkout_ts"
        const f = l.split(' ');
        const ts = Number(f[0] === 'O' ? f[2] : f[1]);
        await deliverUntil(ts);
        if (f[0] === 'E') {
          const shopper = Number(f[2]);
          edgeOf(shopper).buffer(shopper, Number(f[4]), Number(f[5]), ts, Number(f[6]), 1);
        } else if (f[0] === 'O') {
          const k = Number(f[1]);
          const shopper = Number(f[3]);
          const item = Number(f[5]);
          const e = edgeOf(shopper);
          const off = await e.offer(shopper, item, ts);
          offerInfo.set(k, { edge: e, decisionId: off.decisionId, shopper, item });
          armsOut.push(k, off.arm);
        } else {
          throw new Error(`disco-loop-sim: unexpected line '${l}'`);
        }
      }
      sim.send(`ARMS ${armsOut.join(' ')}`);
      await sim.until((l) => {
        const f = l.split(' ');
        const k = Number(f[1]);
        const info = offerInfo.get(k);
        offerInfo.delete(k);
        const r = { purchased: f[2] === '1', quantity: Number(f[3]), unitPrice: Number(f[4]), revenue: Number(f[5]), margin: Number(f[6]), spend: Number(f[7]), ts: Number(f[8]) };
        const d = disco[day];
        d.decisions++;
        d.conversions += r.purchased ? 1 : 0;
        d.revenue += r.revenue;
        d.margin += r.margin;
        d.discount_spend += r.spend;
        outcomesDue.push({ ts: r.ts, edge: info.edge, decisionId: info.decisionId, shopper: info.shopper, item: info.item, r });
      });
      await deliverUntil(tEnd - 1);
      clock.stepEnd = tEnd;
      await fleetSync(edges);
      const v = edges[0].stats.banditVersion;
      if (firstVersion === null && v >= 0) firstVersion = v;
    }
    const d = disco[day];
    const g = H + day;
    const orc = baselines.oracle.margin[g];
    versions.push(edges[0].stats.banditVersion);
    const model = (await edges[0].handler.info()).modelVersion.replace('loop-', '');
    log(`${pad(day + 1, 3)} ${pad(model, 5)} ${pad(gateByDay.get(day) ?? '', 7)} | ${cols(d.margin, d.revenue, d.conversions, d.decisions, d.discount_spend)} | ` +
      `${baseCols(baselines.fixed[bestFixed], g)} | ${baseCols(baselines.fixed[0], g)} | ${pad(fmt(orc), 7)} | ` +
      `${pad((100 * d.margin / orc).toFixed(1), 7)} ${pad(edges[0].stats.banditVersion, 8)}`);
  }
  await deliverUntil(Infinity);
  clock.stepEnd = head.loop_start_ms + nDays * DAY;
  await fleetSync(edges);
  return { nDays, H, disco, bestFixed, retrains, versions, firstVersion, current };
}
