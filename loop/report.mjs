// Steps 6 and 7: the results. The simulator's own per-day figures (cross-checked against the edges'
// view), the collector's final canonical export (log/), the A/B figures with --holdout; then
// summary.json, the chart (loop.html, loop.svg), the closing log lines, and the --quick checks.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { renderChart } from './chart.mjs';
import { fmt } from './format.mjs';
import { cpuSeconds, run } from './procs.mjs';
import { exportCanonical } from './retrain.mjs';

/**
 * Step 6a: the simulator's results (FINISH), checked against the edges' per-day margins; the final
 * export; disco-eval ab with --holdout; the collector stopped. Returns { res, fex, userIdConflicts, ab }.
 */
export async function collectResults(o, { trainLog }, { sim, col, days }) {
  const { nDays, H, disco } = days;
  const colData = col.data;
  const resultsPath = path.join(o.out, 'results.json');
  sim.send(`FINISH ${resultsPath}`);
  await sim.line();
  await sim.exited;  // FINISH ends it
  const res = JSON.parse(fs.readFileSync(resultsPath, 'utf8'));
  for (let day = 0; day < nDays; day++) {
    const a = res.disco.margin[H + day];
    const b = disco[day].margin;
    if (Math.abs(a - b) > 0.01 * Math.max(1, nDays) + 1e-6 * Math.abs(a)) throw new Error(`day ${day + 1}: the simulator's disco margin ${a} != the edges' sum ${b}`);
  }
  const finalLog = path.join(o.out, 'log');
  const fex = await exportCanonical(o, colData, 'loop', finalLog, trainLog);
  const userIdConflicts = Number(/(\d+) user keys arrived with more than one user_id/.exec(fex.stdout ?? '')?.[1] ?? 0);
  let ab = null;
  if (o.holdout > 0) {
    const abJson = path.join(o.out, 'ab.json');
    const r = await run(o.evalBin, ['ab', '--log', finalLog, '--json', abJson, '--html', path.join(o.out, 'ab.html')], trainLog, 'disco-eval ab');
    ab = { text: r.stdout.trim(), json: JSON.parse(fs.readFileSync(abJson, 'utf8')) };
  }
  col.p.kill('SIGTERM');
  await new Promise((r) => col.p.once('exit', r));
  return { res, fex, userIdConflicts, ab };
}

/**
 * Step 6b: summary.json, the chart and the closing log lines. Returns { summary, all, last, edgeStats }.
 */
export async function writeReport(o, { log, t0 }, { fleet, days, results, pilot, fitSummary }) {
  const { edges, ctx } = fleet;
  const { nDays, H, disco, bestFixed, retrains, versions, firstVersion } = days;
  const { res, fex, ab } = results;
  const up = pilot.uploaded, pex = pilot.exported;
  const L = Math.min(o.lastDays, nDays);
  const sumLast = (arr) => arr.slice(H + nDays - L, H + nDays).reduce((x, y) => x + y, 0);
  const last = { disco: sumLast(res.disco.margin), fixed: sumLast(res.fixed[bestFixed].margin), none: sumLast(res.fixed[0].margin), oracle: sumLast(res.oracle.margin) };
  const sumAll = (arr) => arr.slice(H).reduce((x, y) => x + y, 0);
  const all = { disco: sumAll(res.disco.margin), fixed: sumAll(res.fixed[bestFixed].margin), none: sumAll(res.fixed[0].margin), oracle: sumAll(res.oracle.margin) };
  const fixedAll = Object.fromEntries(res.arms.map((a, i) => [a, sumAll(res.fixed[i].margin)]));
  const decisions = disco.reduce((x, d) => x + d.decisions, 0);
  const edgeStats = [];
  for (const e of edges) edgeStats.push({ edge: e.id, ...e.stats, model: (await e.handler.info()).modelVersion, sessions: e.cookies.size });
  const summary = {
    options: { ...o, simBin: undefined, collectorBin: undefined, trainBin: undefined, evalBin: undefined, discoSimBin: undefined },
    best_fixed_arm: res.arms[bestFixed], last_days: L, last, all, fixed_all: fixedAll,
    pct_of_oracle_last: 100 * last.disco / last.oracle, pct_of_oracle_all: 100 * all.disco / all.oracle,
    decisions, exported_decisions: fex.decisions ?? null, exported_outcomes: fex.outcomes ?? null, exported_events: fex.events ?? null,
    pilot: { shoppers: o.pilotShoppers, policy: o.pilotPolicy, uploaded: up, exported: pex },
    policy: o.policy, policy_fit: fitSummary, bandit_versions: versions, first_bandit_version: firstVersion, retrains,
    gate_decisions: retrains.map((r) => ({ retrain: r.version, day: r.day, decision: r.gate.decision, reason: r.gate.reason })),
    holdout: o.holdout, ab: ab ? ab.json : null, edges: edgeStats,
    transport_errors: ctx.transportErrors.length, sync_errors: ctx.syncErrors.length, report_problems: ctx.reportProblems.length,
    seconds: (performance.now() - t0) / 1000, cpu_seconds: cpuSeconds(),
  };
  fs.writeFileSync(path.join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const chart = renderChart(res, { bestFixed, retrains: retrains.map((r) => ({ day: r.day, decision: r.gate.decision, version: r.version, reason: r.gate.reason })), title: `disco loop: margin per simulated day (${o.shoppers} shoppers, ${o.edges} edges, seed ${o.seed})`, summary });
  fs.writeFileSync(path.join(o.out, 'loop.html'), chart.html);
  fs.writeFileSync(path.join(o.out, 'loop.svg'), chart.svg);
  if (o.chartSvg) { fs.mkdirSync(path.dirname(path.resolve(o.chartSvg)), { recursive: true }); fs.writeFileSync(o.chartSvg, chart.svg); }

  log('');
  log(`margin over the last ${L} days: disco ${fmt(last.disco)} = ${summary.pct_of_oracle_last.toFixed(1)}% of oracle ${fmt(last.oracle)}; ` +
    `fixed ${res.arms[bestFixed]} ${fmt(last.fixed)} (${(100 * last.fixed / last.oracle).toFixed(1)}%), none ${fmt(last.none)} (${(100 * last.none / last.oracle).toFixed(1)}%); ` +
    `disco vs none ${(100 * (last.disco / last.none - 1)).toFixed(1)}%`);
  log(`all ${nDays} loop days: disco ${fmt(all.disco)} (${summary.pct_of_oracle_all.toFixed(1)}% of oracle), fixed ${fmt(all.fixed)}, none ${fmt(all.none)}, oracle ${fmt(all.oracle)}; ` +
    `disco vs none ${(100 * (all.disco / all.none - 1)).toFixed(1)}%`);
  log(`collector: ${fmt(decisions)} decisions made, ${fmt(fex.decisions ?? 0)} in the canonical export (${fmt(fex.outcomes ?? 0)} outcomes, ${fmt(fex.events ?? 0)} events); ` +
    `bandit state version ${firstVersion} -> ${versions.at(-1)}; ${retrains.length} retrain(s), gate: ${retrains.map((r) => `${r.version} ${r.gate.decision}`).join(', ') || 'none'}; ` +
    `hot swaps per edge: ${edges.map((e) => e.stats.swaps).join(', ')}; fleet sync: ${fmt(edges.reduce((s, e) => s + e.stats.syncs, 0))} pulls, ` +
    `${fmt(edges.reduce((s, e) => s + e.stats.syncBytes, 0) / 1024)} KiB`);
  if (ab) log(`A/B holdout (disco-eval ab on the export): ${ab.text.split('\n').filter(Boolean).slice(0, 8).join('\n  ')}`);
  log(`chart: ${path.join(o.out, 'loop.html')}${o.chartSvg ? ` and ${o.chartSvg}` : ''}; ${summary.seconds.toFixed(0)} s wall, ` +
    `${summary.cpu_seconds.toFixed(1)} s CPU (this process + the simulator, trainer and collector runs it waited for)`);
  return { summary, all, last, edgeStats };
}

/** Step 7: the end-to-end checks; the list of failures (empty: passed), logged. */
export function check(o, { log }, { fleet, days, results, report }) {
  const { edges, ctx } = fleet;
  const { nDays, bestFixed, retrains, versions, firstVersion, current, disco } = days;
  const { res, fex, userIdConflicts, ab } = results;
  const { all, edgeStats } = report;
  const decisions = disco.reduce((x, d) => x + d.decisions, 0);
  const failures = [];
  if (userIdConflicts) failures.push(`${userIdConflicts} user keys (session ids) arrived with more than one shopper id: two shoppers shared a session`);
  if (fex.decisions !== decisions) failures.push(`the collector's canonical export holds ${fex.decisions} decisions, the edges made ${decisions}`);
  if (!(firstVersion !== null && versions.at(-1) > firstVersion)) failures.push(`the bandit state version did not increase (${firstVersion} -> ${versions.at(-1)})`);
  if (edges.some((e) => e.stats.imports < 2)) failures.push('an edge imported the fleet bandit state fewer than 2 times');
  if (retrains.length < 1) failures.push('no retrain happened');
  if (retrains.some((r) => !['promote', 'hold'].includes(r.gate.decision) || !r.gate.reason)) failures.push('a retrain has no gate decision with a reason');
  for (const s of edgeStats) if (s.model !== current.version) failures.push(`edge-${s.edge} runs ${s.model}, the collector publishes ${current.version}`);
  const promoted = retrains.filter((r) => r.gate.decision === 'promote').length;
  if (edges.some((e) => e.stats.swaps !== promoted)) failures.push(`hot swaps per edge ${edges.map((e) => e.stats.swaps).join(', ')} != ${promoted} promoted bundle(s)`);
  if (ctx.reportProblems.length) failures.push(`${ctx.reportProblems.length} outcomes were not applied by their edge (first: ${ctx.reportProblems[0]})`);
  if (ctx.syncErrors.length) failures.push(`${ctx.syncErrors.length} fleet syncs failed (first: ${ctx.syncErrors[0]})`);
  if (o.holdout > 0 && !ab) failures.push('no A/B figures');
  // Over all loop days (the last few days of the small --quick world hold ~200 offers: too noisy).
  const floor = (1 - o.tolerance) * all.none;
  if (!(all.disco >= floor)) failures.push(`disco's margin over all ${nDays} loop days ${fmt(all.disco)} < ${(100 * (1 - o.tolerance)).toFixed(0)}% of no discount (${fmt(all.none)})`);
  if (!(all.disco > all.fixed)) failures.push(`disco's margin over all ${nDays} loop days ${fmt(all.disco)} is not above the best fixed discount (${res.arms[bestFixed]}: ${fmt(all.fixed)})`);
  if (failures.length) {
    log(`FAILED:\n  - ${failures.join('\n  - ')}`);
    if (o.quick) process.exitCode = 1;
  } else {
    log(`checks passed: decisions, events and outcomes reached the collector, fleet statistics flowed back, ${retrains.length} retrain(s) gated ` +
      `(${promoted} promoted and hot-swapped), disco >= ${(100 * (1 - o.tolerance)).toFixed(0)}% of no discount and above the best fixed discount over all ${nDays} loop days`);
  }
  return failures;
}
