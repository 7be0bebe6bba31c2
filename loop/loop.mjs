#!/usr/bin/env node
// disco loop: simulated shoppers -> edge workers (the SDK's createEdgeHandler on the real
// disco.wasm) -> decisions, events, outcomes -> the collector -> fleet sync back into every edge
// -> a retrain every M days from the collector's canonical export -> the go-live gate -> a new
// signed bundle published by the collector and hot-swapped by the edges' sync. See loop/README.md.
//
// Only the product path: the SDK through its package entry points (@disco/sdk, installed in
// loop/node_modules from ../sdk-js by scripts/setup.sh; sdk.mjs), and the CLIs a store runs:
// disco-collector (serve, export --canonical), disco-train (train, policy, export --policy-fit),
// disco-eval (gate, ab). disco-loop-sim (C++) is the ground truth: the shoppers and what they do.
//
// main() is the run, step by step; each step lives in its module:
//   options.mjs  the command line (--help), the --quick world
//   start.mjs    1. key, simulator (history, baselines), bundle m0   2. the collector
//   pilot.mjs    3. the store's randomized pilot -> the collector -> its canonical export
//   retrain.mjs  the first policy fit; every retrain (export, train, policy, gate, publish)
//   edges.mjs    4. the edge fleet (createEdgeHandler per edge), the history days tracked
//   days.mjs     5. the loop days: offers, outcomes, syncs, retrains, the per-day table
//   report.mjs   6. results, summary.json, chart, closing lines   7. the --quick checks
//   procs.mjs    the child processes (simulator, collector, CLI runs); format.mjs, chart.mjs
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseOptions } from './options.mjs';
import { startSimulator, startLoopCollector } from './start.mjs';
import { runPilot } from './pilot.mjs';
import { fitFirstPolicy } from './retrain.mjs';
import { startFleet } from './edges.mjs';
import { runDays } from './days.mjs';
import { collectResults, writeReport, check } from './report.mjs';

async function main() {
  const o = parseOptions();  // the command line
  const t0 = performance.now();
  fs.rmSync(o.out, { recursive: true, force: true });
  for (const d of ['keys', 'collector', 'train', 'models', 'gate']) fs.mkdirSync(path.join(o.out, d), { recursive: true });
  const logPath = path.join(o.out, 'loop.log');
  const log = (s) => { console.log(s); fs.appendFileSync(logPath, s + '\n'); };
  const logs = { log, trainLog: path.join(o.out, 'train.log'), t0 };
  log(`disco loop${o.quick ? ' --quick' : ''}: ${o.shoppers} shoppers, ${o.items} items, ${o.historyDays} history + ${o.days} loop days, ` +
    `${o.edges} edges, sync every ${o.pullEveryS} s (simulated), retrain every ${o.retrainEveryDays} days (${o.trainSteps} steps), ` +
    `policy ${o.policy}, gate ${o.gate ? 'on' : 'off'}${o.holdout ? `, holdout ${o.holdout}` : ''} -> ${o.out}`);

  const { sim, head, baselines, publicKey, m0 } = await startSimulator(o, logs);      // 1.
  const col = await startLoopCollector(o, logs, m0);                                  // 2.
  const pilot = await runPilot(o, logs, col);                                         // 3.
  const { current, fitSummary } = await fitFirstPolicy(o, logs, m0, head, pilot.pilotLog, col.data);
  const fleet = await startFleet(o, col, head, publicKey, log);                       // 4.
  const days = await runDays(o, logs, { sim, head, baselines, fleet, col, pilotLog: pilot.pilotLog, current });  // 5.
  const results = await collectResults(o, logs, { sim, col, days });                  // 6.
  const report = await writeReport(o, logs, { fleet, days, results, pilot, fitSummary });
  check(o, logs, { fleet, days, results, report });                                   // 7.
  for (const e of fleet.edges) await e.handler.close();
}

main().catch((e) => {
  console.error(`disco loop: ${process.env.DISCO_LOOP_DEBUG ? e.stack : e.message ?? e}`);
  process.exit(2);
});
