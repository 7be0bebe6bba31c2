#!/usr/bin/env node
// disco loop: simulated shoppers -> edge workers (the JS SDK on the real disco.wasm) -> decisions ->
// the collector -> fleet bandit state pulled back by the edges -> a retrain every M days -> a new
// signed bundle hot-swapped into the edges. See loop/README.md.
//
// Processes: disco-loop-sim (C++, the simulator's ground truth, stdin/stdout protocol described in
// loop/sim_driver.cpp), disco-collector (HTTP on loopback), disco-train (one run per retrain).
// This file runs the edge fleet: each edge is one disco runtime (bandit + guardrails, one wasm
// instance, like an isolate) with one session per shopper it serves, and one SDK Transport.
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';

import { Engine, BundleRef, RuntimeRef } from '../sdk-js/src/engine.js';
import { readModelSummary } from '../sdk-js/src/bundle.js';
import { webcrypto } from 'node:crypto';
import { Transport } from '../sdk-js/src/transport.js';
import { fnv1a64 } from '../sdk-js/src/util.js';
import { loadWasm, verifyBundle } from '../sdk-js/src/node.js'; // node:crypto by default (Node 18)
import { encodeBanditStats, importFleetStats, banditConfigAndPrior } from './bandit_state.mjs';
import { estimateDelayedCost } from './delayed_cost.mjs';
import { fitBanditPrior, contextCost } from './bandit_prior.mjs';
import { renderChart } from './chart.mjs';

const execFileP = promisify(execFile);
// Children to stop if the loop fails half way (the collector serves until told to stop).
const children = new Set();
process.on('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM'); });
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const EVENT_TYPES = ['view', 'click', 'cart', 'remove', 'purchase'];

// ------------------------------------------------------------------------------------------------
// options
// ------------------------------------------------------------------------------------------------
const USAGE = `disco loop [--quick] [options]
  --out DIR               output folder (default out/loop, out/loop-quick with --quick); replaced
  --bin-dir DIR           build folder with loop/disco-loop-sim, collector/disco-collector and
                          trainer/model/disco-train (default $DISCO_BUILD or build/release)
  --sim-bin, --collector-bin, --train-bin FILE   override one binary
  --seed N (42)  --shoppers N (6000)  --items N (3000)  --days N loop days (21)  --history-days N (7)
  --edges N (4)           edge workers; shopper s is served by edge s mod N
  --pull-every-s S (3600) simulated seconds between bandit/bundle pulls (and transport flushes)
  --retrain-every-days M (7)  --train-window-days W (7)  --train-steps K (300)  (bounded retrain)
  --last-days L (5)       days averaged for the final comparison
  --tolerance F (0.10; 0.03 with --quick)  the run fails (exit 1 with --quick) when disco's margin over
                          all loop days < (1 - F) x no discount's, or not above the best fixed discount's
  --quick                 CI run: 1500 shoppers, 1000 items, 4 + 8 days, 2 edges, pulls every 2 h, retrain every
                          4 days (40 steps), tolerance 0.03, last 3 days, 10000 pilot shoppers in the prior
  --chart-svg FILE        also write the chart as a standalone SVG (e.g. docs/loop.svg)
  --delayed-cost C|auto|context (context; auto with --bandit-prior none)  charged on every discounted offer's
                          reward, in units of the item's price (reward = (margin - C x price) / price); auto = one
                          number estimated off-policy from a randomized pilot (loop/delayed_cost.mjs); context =
                          a linear function of the decision's context fitted on the same pilot
                          (loop/bandit_prior.mjs; needs --bandit-prior pilot); 0 = the myopic reward
  --pilot-shoppers N (100000)  size of the randomized pilot: disco-sim --logging-policy P (below), 49 days, the
                          loop's seed (same store and catalog); the loop's own shoppers (u0..u<shoppers-1>)
                          are left out of every estimate
  --bandit-prior pilot|none (pilot)  warm-start the bandit with ridge statistics per arm fitted on the pilot's
                          decisions replayed through the runtime (loop/bandit_prior.mjs): written into each
                          published bundle by disco-train export --bandit-prior (m0's fitted through m0, each
                          retrain's refitted through the retrained bundle)
  --pilot-policy P (epsilon:0.2:0%)  the pilot's logging policy (disco-sim --logging-policy: uniform, epsilon:EPS:ARM, ...);
                          the default is the store's current policy (no discount) with 20% randomized arms
  --prior-shoppers N (50000; 10000 with --quick)  pilot shoppers replayed for the prior  --prior-weight W (1)  weight of the prior
  --edge-history 1|0 (1)  the edges track the history days' events before launch (the SDK runs before offers do)
  --noise-scale V|auto|bundle (auto)  the bandit's noise scale, written into each published bundle by
                          disco-train export --noise-scale; auto = the std of the pilot's scaled rewards;
                          bundle = the trainer's default
  --disco-sim-bin FILE    the simulator CLI for the pilot (default BIN_DIR/trainer/sim/disco-sim)`;

function parseArgs(argv) {
  const o = {
    quick: false, out: null, binDir: process.env.DISCO_BUILD ?? path.join(ROOT, 'build/release'),
    seed: 42, shoppers: 6000, items: 3000, days: 21, historyDays: 7, edges: 4, pullEveryS: 3600,
    retrainEveryDays: 7, trainWindowDays: 7, trainSteps: 300, lastDays: 5, tolerance: 0.10, chartSvg: null,
    simBin: null, collectorBin: null, trainBin: null, delayedCost: null, noiseScale: 'auto', pilotShoppers: 100000, discoSimBin: null, banditPrior: 'pilot', priorShoppers: 50000, priorWeight: 1, pilotPolicy: 'epsilon:0.2:0%', edgeHistory: 1,
  };
  const quickDefaults = { shoppers: 1500, items: 1000, days: 8, historyDays: 4, retrainEveryDays: 4, trainWindowDays: 4, trainSteps: 40, lastDays: 3, edges: 2, tolerance: 0.03, pullEveryS: 7200, priorShoppers: 10000 };
  const set = {};
  const num = (k, v) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw new Error(`--${k}: expected a non-negative number, got '${v}'`);
    return x;
  };
  const names = {
    '--out': 'out', '--bin-dir': 'binDir', '--seed': 'seed', '--shoppers': 'shoppers', '--items': 'items', '--days': 'days',
    '--history-days': 'historyDays', '--edges': 'edges', '--pull-every-s': 'pullEveryS', '--retrain-every-days': 'retrainEveryDays',
    '--train-window-days': 'trainWindowDays', '--train-steps': 'trainSteps', '--last-days': 'lastDays', '--tolerance': 'tolerance',
    '--chart-svg': 'chartSvg', '--sim-bin': 'simBin', '--collector-bin': 'collectorBin', '--train-bin': 'trainBin',
    '--delayed-cost': 'delayedCost', '--noise-scale': 'noiseScale', '--pilot-shoppers': 'pilotShoppers', '--disco-sim-bin': 'discoSimBin', '--bandit-prior': 'banditPrior', '--prior-shoppers': 'priorShoppers', '--prior-weight': 'priorWeight', '--pilot-policy': 'pilotPolicy', '--edge-history': 'edgeHistory',
  };
  const strings = new Set(['out', 'binDir', 'chartSvg', 'simBin', 'collectorBin', 'trainBin', 'discoSimBin', 'banditPrior', 'pilotPolicy']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') { o.quick = true; continue; }
    if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    const k = names[a];
    if (!k) throw new Error(`unknown argument '${a}'\n${USAGE}`);
    if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
    set[k] = strings.has(k) || ((k === 'delayedCost' || k === 'noiseScale') && ['auto', 'bundle', 'context'].includes(argv[i + 1])) ? argv[++i] : num(a.slice(2), argv[++i]);
  }
  if (o.quick) Object.assign(o, quickDefaults);
  Object.assign(o, set);
  o.out = path.resolve(o.out ?? path.join(ROOT, o.quick ? 'out/loop-quick' : 'out/loop'));
  o.simBin ??= path.join(o.binDir, 'loop/disco-loop-sim');
  o.collectorBin ??= path.join(o.binDir, 'collector/disco-collector');
  o.trainBin ??= path.join(o.binDir, 'trainer/model/disco-train');
  o.discoSimBin ??= path.join(o.binDir, 'trainer/sim/disco-sim');
  o.delayedCost ??= o.banditPrior === 'pilot' ? 'context' : 'auto';
  if (o.delayedCost === 'bundle') throw new Error('--delayed-cost: expected a number, auto or context');
  if (o.noiseScale === 'context') throw new Error('--noise-scale: expected a number, auto or bundle');
  if (o.delayedCost === 'context' && o.banditPrior !== 'pilot') throw new Error('--delayed-cost context needs --bandit-prior pilot (the cost model is fitted on the pilot)');
  if (!['pilot', 'none'].includes(o.banditPrior)) throw new Error(`--bandit-prior: expected pilot or none, got '${o.banditPrior}'`);
  if (!(Number.isInteger(o.priorShoppers) && o.priorShoppers >= 1)) throw new Error('--prior-shoppers must be an integer >= 1');
  if (!(o.priorWeight > 0)) throw new Error('--prior-weight must be > 0');
  if ((o.delayedCost === 'auto' || o.noiseScale === 'auto' || o.banditPrior === 'pilot') && !fs.existsSync(o.discoSimBin))
    throw new Error(`${o.discoSimBin}: not found (build disco-sim, pass --disco-sim-bin, or --delayed-cost C)`);
  if ((o.delayedCost === 'auto' || o.delayedCost === 'context' || o.noiseScale === 'auto' || o.banditPrior === 'pilot') && !(Number.isInteger(o.pilotShoppers) && o.pilotShoppers >= 100)) throw new Error('--pilot-shoppers must be an integer >= 100');
  for (const [flag, f] of [['--sim-bin', o.simBin], ['--collector-bin', o.collectorBin], ['--train-bin', o.trainBin]]) {
    if (!fs.existsSync(f)) throw new Error(`${f}: not found (build it, or pass --bin-dir / ${flag})`);
  }
  if (!(o.edges >= 1) || !Number.isInteger(o.edges)) throw new Error('--edges must be an integer >= 1');
  if (!(o.days >= 2)) throw new Error('--days must be >= 2');
  if (!(o.pullEveryS >= 60)) throw new Error('--pull-every-s must be >= 60 simulated seconds');
  if (!(o.retrainEveryDays >= 1)) throw new Error('--retrain-every-days must be >= 1');
  if (!(o.tolerance >= 0 && o.tolerance < 1)) throw new Error('--tolerance must be in [0, 1)');
  return o;
}

// ------------------------------------------------------------------------------------------------
// the simulator process (line protocol)
// ------------------------------------------------------------------------------------------------
class SimProcess {
  constructor(bin, args) {
    this.p = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this.p);
    this.stderr = '';
    this.p.stderr.on('data', (d) => { this.stderr += d; });
    this.lines = createInterface({ input: this.p.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => this.p.on('exit', (code) => resolve(code)));
  }
  async line() {
    const r = await this.lines.next();
    if (r.done) {
      const code = await this.exited;
      throw new Error(`disco-loop-sim exited (status ${code}): ${this.stderr.trim() || 'no message'}`);
    }
    return r.value;
  }
  send(cmd) { this.p.stdin.write(cmd + '\n'); }
  async until(onLine) {
    for (;;) {
      const l = await this.line();
      if (l === '.') return;
      onLine(l);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// the collector process
// ------------------------------------------------------------------------------------------------
async function startCollector(bin, confPath, logPath) {
  const log = fs.openSync(logPath, 'a');
  const p = spawn(bin, ['serve', '--config', confPath], { stdio: ['ignore', 'pipe', log] });
  children.add(p);
  const rl = createInterface({ input: p.stdout });
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`disco-collector did not start within 20 s (see ${logPath})`)), 20000);
    p.on('exit', (code) => { clearTimeout(t); reject(new Error(`disco-collector exited with status ${code} (see ${logPath})`)); });
    rl.on('line', (l) => {
      fs.appendFileSync(logPath, l + '\n');
      const m = /listening on [^:]+:(\d+)/.exec(l);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
  });
  return { p, port, url: `http://127.0.0.1:${port}` };
}

// ------------------------------------------------------------------------------------------------
// an edge worker: one runtime, sessions per shopper, one transport
// ------------------------------------------------------------------------------------------------
class Edge {
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.sessions = new Map();  // shopper -> SessionRef
    this.pending = new Map();   // decisionId -> { item }
    this.stats = { offers: 0, reports: 0, tracked: 0, unknownItems: 0, pulls: 0, imports: 0, swaps: 0, banditVersion: -1, importMode: null, priorSwaps: { changed: 0, unchanged: 0 } };
    this.bundleEtag = null;
    this.banditEtag = null;
  }

  async init(wasm, bundleBytes, etag) {
    const c = this.ctx;
    this.engine = await Engine.load(wasm);
    const header = await verifyBundle(bundleBytes, c.publicKey);
    this.summary = readModelSummary(header.payload);
    this.bundle = new BundleRef(this.engine, bundleBytes);
    this.bundleEtag = etag;
    this.runtime = new RuntimeRef(this.engine, this.bundle, { seed: BigInt(c.seed) * 1000n + BigInt(this.id), mode: 0, maxPendingDecisions: 16384 });
    // Warm start (README "Warm start"): the bundle's BanditPrior (the pilot's statistics) and noise scale.
    this.transport = new Transport({
      url: `${c.collectorUrl}/v1/events`, key: c.secret, keyId: c.apiKey, senderId: `edge-${this.id}`,
      crypto: webcrypto, // Node 18 has no global WebCrypto
      maxQueue: 1_000_000, batchSize: 2000, flushIntervalMs: 60_000, backoffBaseMs: 50, backoffMaxMs: 1000,
      onError: (e) => { c.transportErrors.push(`edge-${this.id}: ${e.message}`); },
    });
  }

  session(shopper) {
    let s = this.sessions.get(shopper);
    if (!s) {
      s = this.runtime.createSession(fnv1a64(`u${shopper}`));
      this.sessions.set(shopper, s);
    }
    return s;
  }

  index(item) {
    try { return this.bundle.index(`i${item}`); } catch (e) {
      if (e.code !== 'UNKNOWN_ITEM') throw e;
      this.stats.unknownItems++;
      return -1;
    }
  }

  track(shopper, item, type, ts, price, quantity) {
    const idx = this.index(item);
    if (idx < 0) return;
    this.session(shopper).observe(idx, type, ts, price, quantity);
    this.stats.tracked++;
  }

  // The cart page asks for an offer and displays it (deferred activation: shown).
  offer(shopper, item, ts) {
    const idx = this.index(item);
    if (idx < 0) return { arm: 0, decisionId: null };
    const o = this.session(shopper).offer(idx, ts);
    this.runtime.shown(o.decisionId);
    const itemId = this.bundle.id(o.item);
    this.transport.enqueue('decisions', {
      decision_id: o.decisionId, ts_ms: ts, user_key: fnv1a64(`u${shopper}`).toString(), item_id: itemId,
      arm: o.arm, discount: o.discount, propensity: o.propensity,
      model_version: this.bundle.info.modelVersion, policy_version: this.bundle.info.modelVersion,
      mode: 'Online', shown: false,
      price: this.summary.price?.[o.item] ?? 0, cost: this.summary.cost?.[o.item] ?? 0, context: o.context,
    });
    this.transport.enqueue('activations', { decision_id: o.decisionId, ts_ms: ts });
    this.pending.set(o.decisionId, { item: o.item, arm: o.arm, price: this.summary.price?.[o.item] ?? 0, context: o.context });
    this.stats.offers++;
    return o;
  }

  // Checkout: the outcome reaches the edge that made the offer (local bandit update + collector).
  // The reported reward (disco_outcome.margin is "the reward") is the realized margin minus the
  // delayed cost of a discount (README "The reward"): delayedCost x price for every discounted
  // offer, converted or not. The collector's fleet statistics take it as is (margin / price);
  // the runtime's local update counts it only for converted outcomes until the next pull replaces
  // the local statistics with the fleet's.
  report(decisionId, shopper, item, r) {
    const p = this.pending.get(decisionId);
    const c = this.ctx;
    const charge = p && p.arm !== 0 ? (c.costModel ? contextCost(c.costModel, p.context) : c.delayedCost) * p.price : 0;
    const reward = r.margin - charge;
    const status = this.runtime.update(decisionId, { ts: r.ts, converted: r.purchased, revenue: r.revenue, margin: reward });
    if (status !== 'OK') this.ctx.reportProblems.push(`${decisionId}: ${status}`);
    this.transport.enqueue('outcomes', { decision_id: decisionId, ts_ms: r.ts, converted: r.purchased, revenue: r.revenue, margin: reward });
    this.pending.delete(decisionId);
    this.stats.reports++;
    if (r.purchased) this.track(shopper, item, 4, r.ts, r.unitPrice, r.quantity);
  }

  async flush() {
    for (let i = 0; i < 50; i++) {
      if ((await this.transport.flush()).ok) return; // flush() resolves { ok, sent, queued, dropped } since sdk 0.2
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`edge-${this.id}: the collector did not take the queued records (${this.transport.size} left): ${this.ctx.transportErrors.slice(-1)[0] ?? ''}`);
  }

  // Pull: fleet bandit statistics, then the current bundle (ETag; hot swap when it changed).
  async pull() {
    const c = this.ctx;
    this.stats.pulls++;
    const h = { 'x-disco-key': c.apiKey };
    if (this.banditEtag) h['if-none-match'] = this.banditEtag;
    const r = await fetch(`${c.collectorUrl}/v1/bandit-state`, { headers: h });
    if (r.status === 200) {
      const state = await r.json();
      this.banditEtag = r.headers.get('etag');
      const bytes = encodeBanditStats(state, this.bundle.info.nArms, this.bundle.info.contextDim);
      this.stats.importMode = importFleetStats(this.engine, this.runtime, bytes);
      this.stats.imports++;
      this.stats.banditVersion = state.version;
    } else if (r.status !== 304) {
      throw new Error(`GET /v1/bandit-state: HTTP ${r.status}: ${await r.text()}`);
    }
    const bh = this.bundleEtag ? { 'if-none-match': this.bundleEtag } : {};
    const b = await fetch(`${c.collectorUrl}/v1/bundle`, { headers: bh });
    if (b.status === 200) {
      const bytes = new Uint8Array(await b.arrayBuffer());
      await this.swap(bytes, b.headers.get('etag'));
    } else if (b.status !== 304) {
      throw new Error(`GET /v1/bundle: HTTP ${b.status}: ${await b.text()}`);
    }
  }

  // Hot swap (the same steps as Disco#swapBundle): verify the signature, load, swap, free the old one.
  async swap(bytes, etag) {
    const header = await verifyBundle(bytes, this.ctx.publicKey);
    const summary = readModelSummary(header.payload);
    const ref = new BundleRef(this.engine, bytes);
    // Whether the swap installed the new bundle's bandit prior and noise scale (reported at the end).
    const before = banditConfigAndPrior(this.runtime);
    try { this.runtime.swapBundle(ref); } catch (e) { ref.free(); throw e; }
    const after = banditConfigAndPrior(this.runtime);
    const same = before.length === after.length && before.every((v, i) => v === after[i]);
    this.stats.priorSwaps[same ? 'unchanged' : 'changed']++;
    const old = this.bundle;
    this.bundle = ref;
    this.summary = summary;
    old.free();
    this.bundleEtag = etag;
    this.stats.swaps++;
  }
}

// ------------------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------------------
function csvSplit(line) {
  const out = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"') { if (line[i + 1] === '"') { cur += '"'; i++; } else q = false; } else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

// The collector's joined export -> the trainer's canonical decisions.csv + outcomes.csv (window only).
function convertJoined(joinedPath, dir, from, to, keyToUser) {
  const lines = fs.readFileSync(joinedPath, 'utf8').split('\n').filter(Boolean);
  const head = csvSplit(lines[0]);
  const col = Object.fromEntries(head.map((h, i) => [h, i]));
  for (const need of ['decision_id', 'ts', 'user_id', 'item_id', 'arm', 'discount', 'propensity', 'model_version', 'policy_version', 'status', 'outcome_ts', 'converted', 'revenue', 'margin']) {
    if (!(need in col)) throw new Error(`${joinedPath}: column ${need} missing (header: ${lines[0]})`);
  }
  const dec = ['decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version'];
  const out = ['decision_id,ts,converted,revenue,margin'];
  let rows = 0;
  for (let i = 1; i < lines.length; i++) {
    const f = csvSplit(lines[i]);
    const ts = Number(f[col.ts]);
    if (!(ts >= from && ts < to)) continue;
    const user = keyToUser.get(f[col.user_id]) ?? `k${f[col.user_id]}`;
    dec.push([f[col.decision_id], ts, user, f[col.item_id], f[col.arm], f[col.discount], f[col.propensity], f[col.model_version], f[col.policy_version]].join(','));
    rows++;
    if (f[col.status] === 'joined' || f[col.status] === 'late' || f[col.status] === '1' || f[col.status] === '3') {
      out.push([f[col.decision_id], f[col.outcome_ts], f[col.converted], f[col.revenue], f[col.margin]].join(','));
    }
  }
  fs.writeFileSync(path.join(dir, 'decisions.csv'), dec.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'outcomes.csv'), out.join('\n') + '\n');
  return { decisions: rows, outcomes: out.length - 1 };
}

async function train(o, dataDir, outDir, version, logPath) {
  const args = ['train', '--data', dataDir, '--out', outDir, '--epochs', '1', '--max-steps', String(o.trainSteps),
    '--baselines', 'none', '--no-int4', '--no-runtime-int8', '--threads', '2', '--progress', 'off',
    '--key', path.join(o.out, 'keys/private.pem'), '--max-test-sessions', '100', '--cold-holdout', '0',
    '--model-version', version, '--fresh'];
  const t0 = performance.now();
  try {
    const r = await execFileP(o.trainBin, args, { maxBuffer: 64 << 20 });
    fs.appendFileSync(logPath, `$ disco-train ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
  } catch (e) {
    fs.appendFileSync(logPath, `$ disco-train ${args.join(' ')}\n${e.stdout ?? ''}${e.stderr ?? ''}\n`);
    throw new Error(`disco-train failed (status ${e.code}); see ${logPath}`);
  }
  const bundle = path.join(outDir, 'bundle.disco');
  if (!fs.existsSync(bundle)) throw new Error(`disco-train wrote no ${bundle}; see ${logPath}`);
  return { bundle, seconds: (performance.now() - t0) / 1000 };
}

// Re-exports a trained model (OUT/model.bin) with the bandit's warm start and noise scale:
// disco-train export --bandit-prior FILE --noise-scale V (the same catalog and options as train).
async function exportBundle(o, dataDir, outDir, version, priorPath, noiseScale, logPath) {
  const out = path.join(outDir, 'bundle-bandit.disco');
  const args = ['export', '--data', dataDir, '--out', outDir, '--model', path.join(outDir, 'model.bin'), '--bundle', out,
    '--no-int4', '--cold-holdout', '0', '--key', path.join(o.out, 'keys/private.pem'), '--model-version', version];
  if (priorPath) args.push('--bandit-prior', priorPath);
  if (noiseScale !== null) args.push('--noise-scale', String(noiseScale));
  try {
    const r = await execFileP(o.trainBin, args, { maxBuffer: 16 << 20 });
    fs.appendFileSync(logPath, `$ disco-train ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
  } catch (e) {
    fs.appendFileSync(logPath, `$ disco-train ${args.join(' ')}\n${e.stdout ?? ''}${e.stderr ?? ''}\n`);
    throw new Error(`disco-train export failed (status ${e.code}): ${(e.stderr ?? '').trim()}; see ${logPath}`);
  }
  return out;
}

function publishBundle(src, collectorData) {
  const dst = path.join(collectorData, 'bundle.disco');
  fs.copyFileSync(src, dst + '.tmp');
  fs.renameSync(dst + '.tmp', dst);  // atomic: the collector serves the old or the new file, never half
}

// CPU seconds of this process and of its children that have been waited for (/proc/self/stat
// utime, stime, cutime, cstime at 100 ticks/s); the wall time depends on the machine's load.
function cpuSeconds() {
  try {
    const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch { return NaN; }
}

const fmt = (x, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const pad = (s, n) => String(s).padStart(n);

// ------------------------------------------------------------------------------------------------
// main
// ------------------------------------------------------------------------------------------------
async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  fs.rmSync(o.out, { recursive: true, force: true });
  for (const d of ['keys', 'collector', 'train', 'models']) fs.mkdirSync(path.join(o.out, d), { recursive: true });
  const logPath = path.join(o.out, 'loop.log');
  const log = (s) => { console.log(s); fs.appendFileSync(logPath, s + '\n'); };
  log(`disco loop${o.quick ? ' --quick' : ''}: ${o.shoppers} shoppers, ${o.items} items, ${o.historyDays} history + ${o.days} loop days, ` +
    `${o.edges} edges, pull every ${o.pullEveryS} s (simulated), retrain every ${o.retrainEveryDays} days on the last ${o.trainWindowDays} days (${o.trainSteps} steps) -> ${o.out}`);

  // 1. signing key; the simulator (history + baselines); the first bundle from the history.
  await execFileP(o.trainBin, ['keygen', '--out', path.join(o.out, 'keys')]);
  const publicKey = new Uint8Array(fs.readFileSync(path.join(o.out, 'keys/public.der')));
  const sim = new SimProcess(o.simBin, ['--out', o.out, '--seed', String(o.seed), '--shoppers', String(o.shoppers),
    '--items', String(o.items), '--days', String(o.days), '--history-days', String(o.historyDays)]);
  const head = JSON.parse(await sim.line());
  const baselines = JSON.parse(fs.readFileSync(path.join(o.out, 'baselines.json'), 'utf8'));
  const DAY = head.day_ms;
  log(`simulator: ${fmt(head.loop_offers)} offer points and ${fmt(head.loop_events)} browsing events in the loop days`);
  const m0 = await train(o, head.history, path.join(o.out, 'models/m0'), 'loop-m0', path.join(o.out, 'train.log'));
  log(`bundle m0 trained on the ${o.historyDays} history days (no discount) in ${m0.seconds.toFixed(1)} s`);

  // 2. the collector, serving m0.
  const colData = path.join(o.out, 'collector');
  publishBundle(m0.bundle, colData);
  const apiKey = 'loop-key';
  const secret = `loop-site-secret-${o.seed}`;  // >= 16 characters (collector config rule)
  const conf = path.join(o.out, 'collector.conf');
  // Simulated time runs ~10^4 times faster than the wall clock and lies in the past, so the
  // collector's wall-clock sweep must not close reward windows: the edges report every outcome
  // (purchases and non-purchases) explicitly at checkout, and the window is set to 10 years.
  fs.writeFileSync(conf, [`listen = 127.0.0.1:0`, `data_dir = ${colData}`, `site = loop:${apiKey}:${secret}`,
    `reward_window_ms = 315360000000`, `sqlite_synchronous = normal`, `max_rows = 10000`, `max_body_bytes = 16777216`, ''].join('\n'));
  const col = await startCollector(o.collectorBin, conf, path.join(o.out, 'collector.log'));
  log(`collector: ${col.url} (data ${colData})`);

  // The delayed cost of a discount (README "The reward"), from a randomized pilot when auto.
  // The pilot: the same store (seed, catalog), arms uniform at random; the loop's own shoppers
  // (indices below o.shoppers) are left out of every estimate.
  let delayed = null;
  const pilotDir = path.join(o.out, 'pilot');
  const keepPilotShopper = (u) => u >= o.shoppers;
  if (o.delayedCost === 'auto' || o.noiseScale === 'auto' || o.banditPrior === 'pilot') {
    await execFileP(o.discoSimBin, ['--seed', String(o.seed), '--out', pilotDir, '--shoppers', String(o.pilotShoppers + o.shoppers),
      '--items', String(o.items), '--days', '49', '--logging-policy', o.pilotPolicy, '--dirty-rate', '0', '--quiet']);
  }
  if (o.delayedCost === 'auto' || o.delayedCost === 'context' || o.noiseScale === 'auto') {
    delayed = estimateDelayedCost(pilotDir, { horizonDays: 21, keepUser: keepPilotShopper });
    if (o.delayedCost === 'auto') o.delayedCost = Math.max(0, delayed.pooled.cost);
    const costText = o.delayedCost === 'context' ? 'per context (fitted with the bandit prior below); pooled' : `${o.delayedCost.toFixed(4)} x price`;
    if (o.noiseScale === 'auto') o.noiseScale = Math.max(0.05, delayed.reward_std);
    fs.writeFileSync(path.join(o.out, 'delayed_cost.json'), JSON.stringify(delayed, null, 1) + '\n');
    log(`delayed cost of a discount: ${costText} (estimate ${delayed.pooled.cost.toFixed(4)} +- ${delayed.pooled.se.toFixed(4)}; randomized pilot: ` +
      `${fmt(o.pilotShoppers)} other shoppers of the same store, ${fmt(delayed.decisions)} randomized decisions (${o.pilotPolicy}), 21-day horizon; immediate reward mean ${delayed.reward_mean.toFixed(3)})`);
  } else {
    log(`delayed cost of a discount: ${o.delayedCost} x price (--delayed-cost)`);
  }

  if (o.noiseScale !== 'bundle') log(`bandit noise scale: ${o.noiseScale.toFixed(3)} (written into every published bundle: disco-train export --noise-scale)`);
  const ctx = { seed: o.seed, delayedCost: o.delayedCost, noiseScale: o.noiseScale === 'bundle' ? null : o.noiseScale, publicKey, collectorUrl: col.url, apiKey, secret, transportErrors: [], reportProblems: [] };
  const wasm = await loadWasm();
  // The bandit's warm start, fitted by replaying the pilot through `bundlePath` (the bundle it
  // will ship in: the pilot's contexts depend on the model's propensity), then that model
  // re-exported with it (and the noise scale). Returns the bundle to publish.
  const priorOpts = { wasm, delayedCost: o.delayedCost, keep: keepPilotShopper, maxShoppers: o.priorShoppers, weight: o.priorWeight };
  const withBandit = async (bundlePath, dataDir, modelDir, version, priorOut) => {
    let prior = null;
    if (o.banditPrior === 'pilot') {
      prior = await fitBanditPrior(pilotDir, { ...priorOpts, bundleBytes: new Uint8Array(fs.readFileSync(bundlePath)) });
      fs.writeFileSync(priorOut, JSON.stringify(prior) + '\n');
    }
    if (!prior && ctx.noiseScale === null) return { bundle: bundlePath, prior };
    const bundle = await exportBundle(o, dataDir, modelDir, version, prior ? priorOut : null, ctx.noiseScale, path.join(o.out, 'train.log'));
    return { bundle, prior };
  };
  {
    const tp = performance.now();
    const b = await withBandit(m0.bundle, head.history, path.join(o.out, 'models/m0'), 'loop-m0', path.join(o.out, 'bandit_prior.json'));
    ctx.prior = b.prior;
    if (b.bundle !== m0.bundle) {
      publishBundle(b.bundle, colData);
      log(`bundle m0 re-exported with ${ctx.prior ? 'the bandit prior (fitted through m0)' : 'no bandit prior'}${ctx.noiseScale !== null ? ' and the noise scale' : ''} ` +
        `(disco-train export), ${((performance.now() - tp) / 1000).toFixed(1)} s -> published`);
    }
  }
  const firstBundle = await fetch(`${col.url}/v1/bundle`);
  if (firstBundle.status !== 200) throw new Error(`GET /v1/bundle: HTTP ${firstBundle.status}`);
  const firstBytes = new Uint8Array(await firstBundle.arrayBuffer());
  if (ctx.prior) {
    if (o.delayedCost === 'context') {
      ctx.costModel = ctx.prior.cost_model;
      log(`delayed cost per context: cost(x) = clamp(x . [${ctx.costModel.map((v) => v.toFixed(3)).join(', ')}], 0, 1) x price; mean over the pilot's discounts ${ctx.prior.mean_cost.toFixed(4)}`);
    }
    const means = ctx.prior.arms.map((a) => (a.n > 0 ? a.reward_sum / a.n : 0).toFixed(3)).join(' / ');
    log(`bandit prior: ${fmt(ctx.prior.decisions)} pilot decisions of ${fmt(ctx.prior.shoppers)} shoppers replayed through the runtime (m0); ` +
      `mean reward per arm ${means} (weight ${o.priorWeight}); in bundle m0's BanditPrior (${path.join(o.out, 'bandit_prior.json')})`);
  }
  const edges = [];
  for (let i = 0; i < o.edges; i++) {
    const e = new Edge(i, ctx);
    await e.init(wasm, firstBytes, firstBundle.headers.get('etag'));
    edges.push(e);
  }
  const edgeOf = (shopper) => edges[shopper % edges.length];
  // Before launch the storefront already runs the SDK (tracking, no offers), so each edge has seen
  // the history days' browsing and purchases of the shoppers it serves (their sessions persist).
  if (o.edgeHistory) {
    const kinds = { view: 0, click: 1, cart: 2, remove: 3, purchase: 4 };
    const lines = fs.readFileSync(path.join(head.history, 'events.csv'), 'utf8').split('\n');
    let n = 0;
    for (let i = 1; i < lines.length; i++) {
      if (!lines[i]) continue;
      const f = lines[i].split(',');  // user_id,session_id,ts,type,item_id,price,quantity
      const shopper = Number(f[0].slice(1));
      const type = kinds[f[3]];
      if (type === undefined) throw new Error(`history events.csv:${i + 1}: unknown type '${f[3]}'`);
      edgeOf(shopper).track(shopper, Number(f[4].slice(1)), type, Number(f[2]), Number(f[5]), Number(f[6]));
      n++;
    }
    log(`edges: tracked ${fmt(n)} history events (${o.historyDays} days before launch, no offers)`);
  }
  const keyToUser = new Map();
  for (let s = 0; s < o.shoppers; s++) keyToUser.set(fnv1a64(`u${s}`).toString(), `u${s}`);
  log(`edges: ${o.edges} x disco.wasm (${edges[0].engine.simd ? 'SIMD128' : 'plain'}), model ${edges[0].bundle.info.modelVersion}`);

  // 3. the loop.
  const nDays = o.days;
  const disco = Array.from({ length: nDays }, () => ({ decisions: 0, conversions: 0, revenue: 0, margin: 0, discount_spend: 0 }));
  const outcomesDue = [];  // { ts, edge, decisionId, shopper, item, r }, delivered at checkout time
  const offerInfo = new Map();  // offer k -> { edge, decisionId, shopper, item }
  const retrains = [];
  const versions = [];
  let firstVersion = null;
  const deliverUntil = (t) => {
    if (!outcomesDue.length) return;
    outcomesDue.sort((a, b) => a.ts - b.ts);
    let n = 0;
    while (n < outcomesDue.length && outcomesDue[n].ts <= t) {
      const d = outcomesDue[n++];
      d.edge.report(d.decisionId, d.shopper, d.item, d.r);
    }
    if (n) outcomesDue.splice(0, n);
  };
  const grp = (n) => `${pad(n, 8)} ${pad('revenue', 8)} ${pad('conv%', 5)} ${pad('spend', 6)}`;
  const header = `${pad('day', 3)} ${pad('model', 5)} | ${grp('disco')} | ${grp('fixed')} | ${grp('none')} | ${pad('oracle', 7)} | ${pad('%oracle', 7)} ${pad('bandit v', 8)}`;
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
    // Retrain at the start of every M-th day: the collector's export + the simulator's event log
    // over the last W days, a bounded number of steps; the bundle is published to the collector,
    // and the edges pick it up at their next pull.
    if (day > 0 && day % o.retrainEveryDays === 0) {
      const k = retrains.length + 1;
      const dir = path.join(o.out, `train/r${k}`);
      fs.mkdirSync(dir, { recursive: true });
      const from = Math.max(head.start_ms, dayStart - o.trainWindowDays * DAY);
      sim.send(`EVENTS ${from} ${dayStart} ${path.join(dir, 'events.csv')}`);
      const ok = await sim.line();
      fs.copyFileSync(path.join(head.history, 'items.csv'), path.join(dir, 'items.csv'));
      const joined = path.join(dir, 'joined.csv');
      await execFileP(o.collectorBin, ['export', '--data', colData, '--out', joined]);
      const conv = convertJoined(joined, dir, from, dayStart, keyToUser);
      const m = await train(o, dir, path.join(o.out, `models/r${k}`), `loop-r${k}`, path.join(o.out, 'train.log'));
      // The prior refitted through the retrained bundle (same pilot, same options); the per-context
      // delayed cost stays m0's fit for the whole run.
      const tb = performance.now();
      const rb = await withBandit(m.bundle, dir, path.join(o.out, `models/r${k}`), `loop-r${k}`, path.join(o.out, `models/r${k}/bandit_prior.json`));
      m.seconds += (performance.now() - tb) / 1000;
      publishBundle(rb.bundle, colData);
      retrains.push({ day, version: `loop-r${k}`, events: Number(ok.split(' ')[1]), decisions: conv.decisions, outcomes: conv.outcomes, seconds: m.seconds });
      log(`  retrain r${k} at day ${day}: ${fmt(Number(ok.split(' ')[1]))} events + ${fmt(conv.decisions)} decisions (${fmt(conv.outcomes)} outcomes) ` +
        `from the collector export, ${o.trainSteps} steps${rb.prior ? ', bandit prior refitted' : ''}, ${m.seconds.toFixed(1)} s -> published`);
    }
    for (let t = dayStart; t < dayStart + DAY; t += stepMs) {
      const tEnd = Math.min(t + stepMs, dayStart + DAY);
      sim.send(`STEP ${tEnd}`);
      const armsOut = [];
      await sim.until((l) => {
        // "E ts shopper session item type price" | "O k ts shopper session item checkout_ts"
        const f = l.split(' ');
        const ts = Number(f[0] === 'O' ? f[2] : f[1]);
        if (f[0] === 'E') {
          deliverUntil(ts);
          const shopper = Number(f[2]);
          edgeOf(shopper).track(shopper, Number(f[4]), Number(f[5]), ts, Number(f[6]), 1);
        } else if (f[0] === 'O') {
          deliverUntil(ts);
          const k = Number(f[1]);
          const shopper = Number(f[3]);
          const item = Number(f[5]);
          const e = edgeOf(shopper);
          const off = e.offer(shopper, item, Number(f[2]));
          offerInfo.set(k, { edge: e, decisionId: off.decisionId, shopper, item });
          armsOut.push(k, off.arm);
        } else {
          throw new Error(`disco-loop-sim: unexpected line '${l}'`);
        }
      });
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
        if (info.decisionId) outcomesDue.push({ ts: r.ts, edge: info.edge, decisionId: info.decisionId, shopper: info.shopper, item: info.item, r });
      });
      deliverUntil(tEnd - 1);
      await Promise.all(edges.map((e) => e.flush()));
      await Promise.all(edges.map((e) => e.pull()));
      const v = edges[0].stats.banditVersion;
      if (firstVersion === null && v >= 0) firstVersion = v;
    }
    const d = disco[day];
    const g = H + day;
    const orc = baselines.oracle.margin[g];
    versions.push(edges[0].stats.banditVersion);
    log(`${pad(day + 1, 3)} ${pad(edges[0].bundle.info.modelVersion.replace('loop-', ''), 5)} | ${cols(d.margin, d.revenue, d.conversions, d.decisions, d.discount_spend)} | ` +
      `${baseCols(baselines.fixed[bestFixed], g)} | ${baseCols(baselines.fixed[0], g)} | ${pad(fmt(orc), 7)} | ` +
      `${pad((100 * d.margin / orc).toFixed(1), 7)} ${pad(edges[0].stats.banditVersion, 8)}`);
  }
  deliverUntil(Infinity);
  await Promise.all(edges.map((e) => e.flush()));
  await Promise.all(edges.map((e) => e.pull()));

  // 4. results: the simulator's own per-day figures (cross-checked against the edges' view).
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
  const finalExport = path.join(o.out, 'joined.csv');
  const ex = await execFileP(o.collectorBin, ['export', '--data', colData, '--out', finalExport]);
  const joinedRows = fs.readFileSync(finalExport, 'utf8').split('\n').filter(Boolean).length - 1;
  const metrics = await (await fetch(`${col.url}/metrics`)).text();
  col.p.kill('SIGTERM');
  await new Promise((r) => col.p.once('exit', r));

  const L = Math.min(o.lastDays, nDays);
  const sumLast = (arr) => arr.slice(H + nDays - L, H + nDays).reduce((x, y) => x + y, 0);
  const last = { disco: sumLast(res.disco.margin), fixed: sumLast(res.fixed[bestFixed].margin), none: sumLast(res.fixed[0].margin), oracle: sumLast(res.oracle.margin) };
  const sumAll = (arr) => arr.slice(H).reduce((x, y) => x + y, 0);
  const all = { disco: sumAll(res.disco.margin), fixed: sumAll(res.fixed[bestFixed].margin), none: sumAll(res.fixed[0].margin), oracle: sumAll(res.oracle.margin) };
  const decisions = disco.reduce((x, d) => x + d.decisions, 0);
  const edgeStats = edges.map((e) => ({ edge: e.id, ...e.stats, model: e.bundle.info.modelVersion, sessions: e.sessions.size, transport: e.transport.stats }));
  const summary = {
    options: { ...o, simBin: undefined, collectorBin: undefined, trainBin: undefined },
    best_fixed_arm: res.arms[bestFixed], last_days: L, last, all,
    pct_of_oracle_last: 100 * last.disco / last.oracle, pct_of_oracle_all: 100 * all.disco / all.oracle,
    decisions, joined_rows: joinedRows, delayed_cost: o.delayedCost, noise_scale: o.noiseScale, bandit_prior: ctx.prior ? { shoppers: ctx.prior.shoppers, decisions: ctx.prior.decisions, weight: ctx.prior.weight } : null, delayed_cost_estimate: delayed?.pooled ?? null, bandit_versions: versions, first_bandit_version: firstVersion, retrains, edges: edgeStats,
    transport_errors: ctx.transportErrors.length, report_problems: ctx.reportProblems.length,
    seconds: (performance.now() - t0) / 1000, cpu_seconds: cpuSeconds(),
  };
  fs.writeFileSync(path.join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const chart = renderChart(res, { bestFixed, retrainDays: retrains.map((r) => r.day), title: `disco loop: margin per simulated day (${o.shoppers} shoppers, ${o.edges} edges, seed ${o.seed})`, summary });
  fs.writeFileSync(path.join(o.out, 'loop.html'), chart.html);
  fs.writeFileSync(path.join(o.out, 'loop.svg'), chart.svg);
  if (o.chartSvg) { fs.mkdirSync(path.dirname(path.resolve(o.chartSvg)), { recursive: true }); fs.writeFileSync(o.chartSvg, chart.svg); }

  log('');
  log(`margin over the last ${L} days: disco ${fmt(last.disco)} = ${summary.pct_of_oracle_last.toFixed(1)}% of oracle ${fmt(last.oracle)}; ` +
    `fixed ${res.arms[bestFixed]} ${fmt(last.fixed)} (${(100 * last.fixed / last.oracle).toFixed(1)}%), none ${fmt(last.none)} (${(100 * last.none / last.oracle).toFixed(1)}%); ` +
    `disco vs none ${(100 * (last.disco / last.none - 1)).toFixed(1)}%`);
  log(`all ${nDays} loop days: disco ${fmt(all.disco)} (${summary.pct_of_oracle_all.toFixed(1)}% of oracle), fixed ${fmt(all.fixed)}, none ${fmt(all.none)}, oracle ${fmt(all.oracle)}`);
  log(`collector: ${fmt(decisions)} decisions made, ${fmt(joinedRows)} joined in the export; bandit state version ${firstVersion} -> ${versions.at(-1)}; ` +
    `${retrains.length} retrain(s), hot swaps per edge: ${edges.map((e) => e.stats.swaps).join(', ')}; fleet import via ${edges[0].stats.importMode}`);
  const ps = edges.reduce((t, e) => ({ changed: t.changed + e.stats.priorSwaps.changed, unchanged: t.unchanged + e.stats.priorSwaps.unchanged }), { changed: 0, unchanged: 0 });
  if (ps.changed + ps.unchanged > 0) {
    log(`bandit prior and noise scale on the edges: ${ps.changed ? `replaced by the new bundle's at ${ps.changed} of ${ps.changed + ps.unchanged} hot swaps` :
      `m0's kept through all ${ps.unchanged} hot swaps (the runtime keeps its bandit when a swap leaves the arms unchanged)${retrains.length && ctx.prior ? '; the refitted priors in the retrained bundles were not used' : ''}`}`);
  }
  log(`chart: ${path.join(o.out, 'loop.html')}${o.chartSvg ? ` and ${o.chartSvg}` : ''}; ${summary.seconds.toFixed(0)} s wall, ` +
    `${summary.cpu_seconds.toFixed(1)} s CPU (this process + the simulator, trainer and collector runs it waited for)`);
  void ex; void metrics;

  // 5. --quick: the end-to-end assertions (exit status 1 when one fails).
  const failures = [];
  if (joinedRows !== decisions) failures.push(`the collector's export holds ${joinedRows} joined decisions, the edges made ${decisions}`);
  if (!(firstVersion !== null && versions.at(-1) > firstVersion)) failures.push(`the bandit state version did not increase (${firstVersion} -> ${versions.at(-1)})`);
  if (edges.some((e) => e.stats.imports < 2)) failures.push('an edge imported the fleet bandit state fewer than 2 times');
  if (retrains.length < 1) failures.push('no retrain happened');
  const lastModel = retrains.length ? retrains.at(-1).version : 'loop-m0';
  if (edges.some((e) => e.stats.swaps < 1 || e.bundle.info.modelVersion !== lastModel)) failures.push(`not every edge hot-swapped to ${lastModel} (${edges.map((e) => e.bundle.info.modelVersion).join(', ')})`);
  if (ctx.reportProblems.length) failures.push(`${ctx.reportProblems.length} outcomes were not applied by their edge (first: ${ctx.reportProblems[0]})`);
  // Over all loop days (the last few days of the small --quick world hold ~200 offers: too noisy).
  const floor = (1 - o.tolerance) * all.none;
  if (!(all.disco >= floor)) failures.push(`disco's margin over all ${nDays} loop days ${fmt(all.disco)} < ${(100 * (1 - o.tolerance)).toFixed(0)}% of no discount (${fmt(all.none)})`);
  if (!(all.disco > all.fixed)) failures.push(`disco's margin over all ${nDays} loop days ${fmt(all.disco)} is not above the best fixed discount (${res.arms[bestFixed]}: ${fmt(all.fixed)})`);
  if (failures.length) {
    log(`FAILED:\n  - ${failures.join('\n  - ')}`);
    if (o.quick) process.exitCode = 1;
  } else {
    log(`checks passed: decisions reached the collector, bandit state flowed back, ${retrains.length} retrain(s) hot-swapped, ` +
      `disco >= ${(100 * (1 - o.tolerance)).toFixed(0)}% of no discount and above the best fixed discount over all ${nDays} loop days`);
  }
  for (const e of edges) e.transport.close();
}

main().catch((e) => {
  console.error(`disco loop: ${process.env.DISCO_LOOP_DEBUG ? e.stack : e.message ?? e}`);
  process.exit(2);
});
