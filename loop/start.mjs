// The loop's start: the signing key, the simulator (the store's history and the fixed-arm and oracle
// baselines), the first model trained on the history, and the collector serving it.
import fs from 'node:fs';
import path from 'node:path';
import { fmt } from './format.mjs';
import { SimProcess, execFileP, startCollector } from './procs.mjs';
import { publishBundle, train } from './retrain.mjs';

/**
 * Step 1: signing key; the simulator (history + baselines); the first model from the store's history.
 * Returns { sim, head (the simulator's first line), baselines, publicKey, m0 }.
 */
export async function startSimulator(o, { log, trainLog }) {
  await execFileP(o.trainBin, ['keygen', '--out', path.join(o.out, 'keys')]);
  const publicKey = new Uint8Array(fs.readFileSync(path.join(o.out, 'keys/public.der')));
  const sim = new SimProcess(o.simBin, ['--out', o.out, '--seed', String(o.seed), '--shoppers', String(o.shoppers),
    '--items', String(o.items), '--days', String(o.days), '--history-days', String(o.historyDays)]);
  const head = JSON.parse(await sim.line());
  const baselines = JSON.parse(fs.readFileSync(path.join(o.out, 'baselines.json'), 'utf8'));
  log(`simulator: ${fmt(head.loop_offers)} offer points and ${fmt(head.loop_events)} browsing events in the loop days`);
  const m0 = await train(o, head.history, path.join(o.out, 'models/m0'), 'loop-m0', trainLog);
  log(`bundle m0 trained on the store's ${o.historyDays} history days (no discount) in ${m0.seconds.toFixed(1)} s`);
  return { sim, head, baselines, publicKey, m0 };
}

/**
 * Step 2: the collector with site "loop" (the edges) and site "pilot" (the store's randomized pilot),
 * publishing m0. Returns { p, port, url, data, apiKey, secret, pilotKey, pilotSecret }.
 */
export async function startLoopCollector(o, { log }, m0) {
  const colData = path.join(o.out, 'collector');
  publishBundle(m0.bundle, colData);
  const apiKey = 'loop-key', secret = `loop-site-secret-${o.seed}`;  // >= 16 characters (collector config rule)
  const pilotKey = 'pilot-key', pilotSecret = `pilot-site-secret-${o.seed}`;
  const conf = path.join(o.out, 'collector.conf');
  // Simulated time runs ~10^4 times faster than the wall clock and lies in the past, so the
  // collector's wall-clock sweep must not close reward windows: the edges report every outcome
  // (purchases and non-purchases) explicitly at checkout, and the window is set to 10 years.
  fs.writeFileSync(conf, [`listen = 127.0.0.1:0`, `data_dir = ${colData}`, `site = loop:${apiKey}:${secret}`, `site = pilot:${pilotKey}:${pilotSecret}`,
    `reward_window_ms = 315360000000`, `sqlite_synchronous = normal`, `max_rows = 10000`, `max_body_bytes = 16777216`, ''].join('\n'));
  const col = await startCollector(o.collectorBin, conf, path.join(o.out, 'collector.log'));
  log(`collector: ${col.url} (data ${colData}; sites loop and pilot)`);
  return { ...col, data: colData, apiKey, secret, pilotKey, pilotSecret };
}
