#!/usr/bin/env node
// disco loop: simulated shoppers -> edge workers (the SDK's createEdgeHandler on the real
// disco.wasm) -> decisions, events, outcomes -> the collector -> fleet sync back into every edge
// -> a retrain every M days from the collector's canonical export -> the go-live gate -> a new
// signed bundle published by the collector and hot-swapped by the edges' sync. See loop/README.md.
//
// Only the product path: the SDK through its package entry points (@disco/sdk, installed in
// loop/node_modules from ../sdk-js by scripts/setup.sh), and the CLIs a store runs:
// disco-collector (serve, export --canonical), disco-train (train, policy, export --policy-fit),
// disco-eval (gate, ab). disco-loop-sim (C++) is the ground truth: the shoppers and what they do.
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { webcrypto } from 'node:crypto';

// The SDK as a store installs it: loop/package.json depends on "@disco/sdk": "file:../sdk-js".
const sdkMissing = (e) => {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  console.error(`disco loop: @disco/sdk is not installed for loop/ (${e.message.split('\n')[0]}): run \`(cd loop && npm ci)\` or scripts/setup.sh`);
  process.exit(2);
};
const { createEdgeHandler, fnv1a64 } = await import('@disco/sdk').catch(sdkMissing);
const { Transport } = await import('@disco/sdk/transport').catch(sdkMissing);
import { renderChart } from './chart.mjs';

const execFileP = promisify(execFile);
// Children to stop if the loop fails half way (the collector serves until told to stop).
const children = new Set();
process.on('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM'); });
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

// ------------------------------------------------------------------------------------------------
// options
// ------------------------------------------------------------------------------------------------
const USAGE = `disco loop [--quick] [options]
  --out DIR               output folder (default out/loop, out/loop-quick with --quick); replaced
  --bin-dir DIR           build folder with loop/disco-loop-sim, collector/disco-collector,
                          trainer/model/disco-train, trainer/eval/disco-eval and trainer/sim/disco-sim
                          (default $DISCO_BUILD or build/release)
  --sim-bin, --collector-bin, --train-bin, --eval-bin, --disco-sim-bin FILE   override one binary
  --seed N (42)  --shoppers N (6000)  --items N (3000)  --days N loop days (21)  --history-days N (7)
  --edges N (4)           edge workers (createEdgeHandler instances); shopper s is served by edge s mod N
  --pull-every-s S (3600) simulated seconds between transport flushes and fleet syncs (sync.everyMs)
  --retrain-every-days M (7)  --train-steps K (300)  a bounded retrain (disco-train train) on the
                          collector's canonical export, then disco-train policy and the gate
  --last-days L (5)       days averaged for the final comparison
  --tolerance F (0.10; 0.05 with --quick)  the run fails (exit 1 with --quick) when disco's margin over
                          all loop days < (1 - F) x no discount's, or not above the best fixed discount's
  --quick                 CI run: 1500 shoppers, 1000 items, 4 + 8 days, 2 edges, syncs every 2 h, retrain every
                          4 days (40 steps), tolerance 0.05, last 3 days, 20000 pilot shoppers
  --chart-svg FILE        also write the chart as a standalone SVG (e.g. docs/loop.svg)
  --pilot-shoppers N (50000; 20000 with --quick)  the store's randomized pilot before launch: disco-sim
                          --logging-policy P (below), 49 days, the loop's seed (same store and catalog), other
                          shoppers than the loop's; its log is sent to the collector (site "pilot") through the
                          SDK's Transport, and the policy is fitted from the collector's canonical export of it
  --pilot-policy P (epsilon:0.2:0%)  the pilot's logging policy (disco-sim --logging-policy)
  --policy value|myopic|none (value)  what disco-train policy fits into every bundle: the warm start, noise
                          scale and pooled delayed cost plus the long-term value model (value), without the
                          value model (myopic: --no-value-model), or nothing (none: the trainer's bundle as is)
  --policy-args "ARGS"    extra disco-train policy options (split on spaces), e.g. "--prior-weight 0.5"
  --gate 1|0 (1)          run disco-eval gate at every retrain (0: publish every retrain unchecked)
  --holdout SHARE (0)     the SDK's holdout option: a stable share of shoppers always gets arm 0; the run
                          ends with disco-eval ab's lift of disco over the holdout
  --edge-history 1|0 (1)  the edges track the history days' events before launch (the SDK runs before offers do)`;

function parseArgs(argv) {
  const o = {
    quick: false, out: null, binDir: process.env.DISCO_BUILD ?? path.join(ROOT, 'build/release'),
    seed: 42, shoppers: 6000, items: 3000, days: 21, historyDays: 7, edges: 4, pullEveryS: 3600,
    retrainEveryDays: 7, trainSteps: 300, lastDays: 5, tolerance: 0.10, chartSvg: null,
    simBin: null, collectorBin: null, trainBin: null, evalBin: null, discoSimBin: null,
    pilotShoppers: 50000, pilotPolicy: 'epsilon:0.2:0%', policy: 'value', policyArgs: '', gate: 1, holdout: 0, edgeHistory: 1,
  };
  const quickDefaults = { shoppers: 1500, items: 1000, days: 8, historyDays: 4, retrainEveryDays: 4, trainSteps: 40, lastDays: 3, edges: 2, tolerance: 0.05, pullEveryS: 7200, pilotShoppers: 20000 };
  const set = {};
  const num = (k, v) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw new Error(`--${k}: expected a non-negative number, got '${v}'`);
    return x;
  };
  const names = {
    '--out': 'out', '--bin-dir': 'binDir', '--seed': 'seed', '--shoppers': 'shoppers', '--items': 'items', '--days': 'days',
    '--history-days': 'historyDays', '--edges': 'edges', '--pull-every-s': 'pullEveryS', '--retrain-every-days': 'retrainEveryDays',
    '--train-steps': 'trainSteps', '--last-days': 'lastDays', '--tolerance': 'tolerance',
    '--chart-svg': 'chartSvg', '--sim-bin': 'simBin', '--collector-bin': 'collectorBin', '--train-bin': 'trainBin', '--eval-bin': 'evalBin',
    '--disco-sim-bin': 'discoSimBin', '--pilot-shoppers': 'pilotShoppers', '--pilot-policy': 'pilotPolicy', '--policy': 'policy',
    '--policy-args': 'policyArgs', '--gate': 'gate', '--holdout': 'holdout', '--edge-history': 'edgeHistory',
  };
  const strings = new Set(['out', 'binDir', 'chartSvg', 'simBin', 'collectorBin', 'trainBin', 'evalBin', 'discoSimBin', 'pilotPolicy', 'policy', 'policyArgs']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') { o.quick = true; continue; }
    if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    const k = names[a];
    if (!k) throw new Error(`unknown argument '${a}'\n${USAGE}`);
    if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
    set[k] = strings.has(k) ? argv[++i] : num(a.slice(2), argv[++i]);
  }
  if (o.quick) Object.assign(o, quickDefaults);
  Object.assign(o, set);
  o.out = path.resolve(o.out ?? path.join(ROOT, o.quick ? 'out/loop-quick' : 'out/loop'));
  o.simBin ??= path.join(o.binDir, 'loop/disco-loop-sim');
  o.collectorBin ??= path.join(o.binDir, 'collector/disco-collector');
  o.trainBin ??= path.join(o.binDir, 'trainer/model/disco-train');
  o.evalBin ??= path.join(o.binDir, 'trainer/eval/disco-eval');
  o.discoSimBin ??= path.join(o.binDir, 'trainer/sim/disco-sim');
  if (!['value', 'myopic', 'none'].includes(o.policy)) throw new Error(`--policy: expected value, myopic or none, got '${o.policy}'`);
  for (const [flag, f] of [['--sim-bin', o.simBin], ['--collector-bin', o.collectorBin], ['--train-bin', o.trainBin], ['--eval-bin', o.evalBin], ['--disco-sim-bin', o.discoSimBin]]) {
    if (!fs.existsSync(f)) throw new Error(`${f}: not found (build it, or pass --bin-dir / ${flag})`);
  }
  if (!(Number.isInteger(o.pilotShoppers) && o.pilotShoppers >= 100)) throw new Error('--pilot-shoppers must be an integer >= 100');
  if (!(o.edges >= 1) || !Number.isInteger(o.edges)) throw new Error('--edges must be an integer >= 1');
  if (!(o.days >= 2)) throw new Error('--days must be >= 2');
  if (!(o.pullEveryS >= 60)) throw new Error('--pull-every-s must be >= 60 simulated seconds');
  if (!(o.retrainEveryDays >= 1)) throw new Error('--retrain-every-days must be >= 1');
  if (!(o.tolerance >= 0 && o.tolerance < 1)) throw new Error('--tolerance must be in [0, 1)');
  if (!(o.holdout >= 0 && o.holdout < 1)) throw new Error('--holdout must be a share in [0, 1), e.g. 0.1');
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
// an edge worker: createEdgeHandler (one runtime per isolate: bandit, guardrails), the shoppers'
// sessions in a KV store (exact state), each shopper's cookie kept by the shopper
// ------------------------------------------------------------------------------------------------
class MemKV {
  constructor() { this.m = new Map(); }
  async get(k) { return this.m.get(k) ?? null; }
  async put(k, v) { this.m.set(k, v); }
}

// WebCrypto with seeded getRandomValues (session ids, holdout decision ids): a rerun gives the same
// user keys, hence the same holdout membership and the same decisions. Signatures and HMACs are
// node:crypto's.
// splitmix64 (one stream per edge): the start is the mixed seed, so two edges' streams (seeds s and
// s + 1) do not overlap (a plain s x golden start would make edge 1's stream edge 0's shifted by one
// draw: the same session ids, hence user keys, on different edges).
function seededCrypto(seed) {
  const mix = (v) => {
    let z = BigInt.asUintN(64, v);
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  };
  let x = mix(mix(BigInt(seed) ^ 0x6a09e667f3bcc909n));
  const next = () => {
    x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
    return mix(x);
  };
  return {
    subtle: webcrypto.subtle,
    getRandomValues(a) {
      const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let i = 0; i < b.length; i += 8) {
        let v = next();
        for (let k = 0; k < 8 && i + k < b.length; k++) { b[i + k] = Number(v & 0xffn); v >>= 8n; }
      }
      return a;
    },
  };
}

class Edge {
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.cookies = new Map();   // shopper -> "disco=..." (the shopper's browser keeps it)
    this.buffered = new Map();  // shopper -> events not yet sent to the edge (sent with the next request)
    this.pending = new Map();   // decisionId -> { holdout }
    this.stats = { offers: 0, holdout: 0, reports: 0, requests: 0, tracked: 0, syncs: 0, imports: 0, swaps: 0, banditVersion: -1, syncBytes: 0, syncMs: 0 };
    const c = ctx;
    this.handler = createEdgeHandler({
      bundle: c.firstBundle, publicKey: c.publicKey, tokenSecret: `loop-edge-token-secret-${c.seed}`,
      kv: new MemKV(), seed: BigInt(c.seed) * 1000n + BigInt(id), crypto: seededCrypto(BigInt(c.seed) * 1000n + BigInt(id)),
      now: () => c.clock.t,
      userId: (request) => request.headers.get('x-shopper-id') ?? undefined,
      collector: {
        url: `${c.collectorUrl}/v1/events`, key: c.secret, keyId: c.apiKey, senderId: `edge-${id}`, events: true,
        maxQueue: 2_000_000, batchSize: 5000, flushIntervalMs: 600_000, backoffBaseMs: 50, backoffMaxMs: 1000,
        onError: (e) => { c.transportErrors.push(`edge-${id}: ${e.message}`); },
      },
      // sync.everyMs in simulated time (the handler's clock): the loop runs one sync() at the end of
      // every step, so a request-started pull is never due in between.
      sync: { url: c.collectorUrl, everyMs: c.pullEveryS * 1000, onError: (e) => { c.syncErrors.push(`edge-${id}: ${e.message}`); } },
      holdout: c.holdout > 0 ? { share: c.holdout, arm: 0 } : undefined,
    });
  }

  async call(route, shopper, body) {
    const headers = { 'content-type': 'application/json', 'x-shopper-id': `u${shopper}` };
    const cookie = shopper === null ? null : this.cookies.get(shopper);
    if (cookie) headers.cookie = cookie;
    const res = await this.handler.fetch(new Request(`http://edge-${this.id}.loop/${route}`, { method: 'POST', headers, body: JSON.stringify(body) }));
    this.stats.requests++;
    const sc = res.headers.get('set-cookie');
    if (sc && shopper !== null) this.cookies.set(shopper, sc.split(';')[0]);
    const j = await res.json();
    if (res.status !== 200) throw new Error(`edge-${this.id} /${route}: HTTP ${res.status}: ${JSON.stringify(j)}`);
    return j;
  }

  // The storefront's events reach the edge with the shopper's next request (at most 100 per request).
  buffer(shopper, item, type, ts, price, quantity) {
    let b = this.buffered.get(shopper);
    if (!b) this.buffered.set(shopper, (b = []));
    b.push({ type, itemId: `i${item}`, ts, price, quantity });
    this.stats.tracked++;
  }

  async sendBuffered(shopper) {
    const b = this.buffered.get(shopper);
    if (!b) return;
    this.buffered.delete(shopper);
    for (let i = 0; i < b.length; i += 100) {
      const chunk = b.slice(i, i + 100);
      this.ctx.clock.t = chunk[chunk.length - 1].ts;
      await this.call('track', shopper, { events: chunk });
    }
  }

  async flushBuffers() {
    for (const shopper of [...this.buffered.keys()]) await this.sendBuffered(shopper);
  }

  // The cart page asks for an offer (with the events since the shopper's last request) and
  // displays it (deferred activation: /shown).
  async offer(shopper, item, ts) {
    let events = [];
    const b = this.buffered.get(shopper);
    if (b) {
      this.buffered.delete(shopper);
      while (b.length > 100) {
        const chunk = b.splice(0, 100);
        this.ctx.clock.t = chunk[chunk.length - 1].ts;
        await this.call('track', shopper, { events: chunk });
      }
      events = b;
    }
    this.ctx.clock.t = ts;
    const o = await this.call('offer', shopper, { item: `i${item}`, events });
    await this.call('shown', shopper, { decisionId: o.decisionId });
    this.pending.set(o.decisionId, { holdout: o.holdout });
    this.stats.offers++;
    if (o.holdout) this.stats.holdout++;
    return o;
  }

  // Checkout: the outcome reaches the edge that made the offer (local bandit update + collector),
  // with the realized margin; a purchase is a tracked event of the shopper.
  async report(decisionId, shopper, item, r) {
    const p = this.pending.get(decisionId);
    this.pending.delete(decisionId);
    this.ctx.clock.t = r.ts;
    const res = await this.call('report', null, { decisionId, converted: r.purchased, revenue: r.revenue, margin: r.margin });
    if (!p?.holdout && !res.applied) this.ctx.reportProblems.push(`${decisionId}: ${res.status}`);
    this.stats.reports++;
    if (r.purchased) this.buffer(shopper, item, 4, r.ts, r.unitPrice, r.quantity);
  }

  async flush() {
    for (let i = 0; i < 50; i++) {
      const r = await this.handler.flush();
      if (r.ok) return;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`edge-${this.id}: the collector did not take the queued records: ${this.ctx.transportErrors.slice(-1)[0] ?? ''}`);
  }

  // Fleet sync (the SDK's sync(): GET /v1/bundle and /v1/bandit-state with ETags, verify + hot swap,
  // import the fleet statistics).
  async sync() {
    this.ctx.clock.t = this.ctx.clock.stepEnd;
    const r = await this.handler.sync();
    this.stats.syncs++;
    this.stats.syncBytes += r.bytes;
    if (r.stats === 'imported') { this.stats.imports++; this.stats.banditVersion = r.version; }
    if (r.bundle === 'swapped') this.stats.swaps++;
    return r;
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

function readCsv(file, onRow) {
  const text = fs.readFileSync(file, 'utf8');
  let start = text.indexOf('\n') + 1;
  const header = csvSplit(text.slice(0, start - 1).replace(/\r$/, ''));
  const col = Object.fromEntries(header.map((h, i) => [h, i]));
  let n = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (!line) continue;
    onRow(line.includes('"') ? csvSplit(line) : line.split(','), col);
    n++;
  }
  return n;
}

async function run(bin, args, logPath, what, okCodes = [0]) {
  const name = path.basename(bin);
  try {
    const r = await execFileP(bin, args, { maxBuffer: 64 << 20 });
    fs.appendFileSync(logPath, `$ ${name} ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    fs.appendFileSync(logPath, `$ ${name} ${args.join(' ')}\n${e.stdout ?? ''}${e.stderr ?? ''}\n(exit ${e.code})\n`);
    if (okCodes.includes(e.code)) return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    throw new Error(`${what} failed (${name}, status ${e.code}): ${(e.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}; see ${logPath}`);
  }
}

async function train(o, dataDir, outDir, version, logPath) {
  const args = ['train', '--data', dataDir, '--out', outDir, '--epochs', '1', '--max-steps', String(o.trainSteps),
    '--baselines', 'none', '--no-int4', '--no-runtime-int8', '--threads', '2', '--progress', 'off',
    '--key', path.join(o.out, 'keys/private.pem'), '--max-test-sessions', '100', '--cold-holdout', '0',
    '--model-version', version, '--fresh'];
  const t0 = performance.now();
  await run(o.trainBin, args, logPath, 'disco-train train');
  const bundle = path.join(outDir, 'bundle.disco');
  if (!fs.existsSync(bundle)) throw new Error(`disco-train wrote no ${bundle}; see ${logPath}`);
  return { bundle, seconds: (performance.now() - t0) / 1000 };
}

// disco-train policy on the pilot's canonical export, replayed through `bundlePath` (the bundle
// the fit ships in: the contexts depend on its model), then disco-train export --policy-fit.
async function fitPolicy(o, pilotLog, bundlePath, dataDir, modelDir, version, logPath) {
  if (o.policy === 'none') return { bundle: bundlePath, fit: null };
  const fitPath = path.join(modelDir, 'policy_fit.json');
  const args = ['policy', '--log', pilotLog, '--bundle', bundlePath, '--out', fitPath];
  if (o.policy === 'myopic') args.push('--no-value-model');
  if (o.policyArgs.trim()) args.push(...o.policyArgs.trim().split(/\s+/));
  await run(o.trainBin, args, logPath, 'disco-train policy');
  const out = path.join(modelDir, 'bundle-policy.disco');
  await run(o.trainBin, ['export', '--data', dataDir, '--out', modelDir, '--model', path.join(modelDir, 'model.bin'), '--bundle', out,
    '--no-int4', '--cold-holdout', '0', '--key', path.join(o.out, 'keys/private.pem'), '--model-version', version, '--policy-fit', fitPath],
  logPath, 'disco-train export --policy-fit');
  return { bundle: out, fit: JSON.parse(fs.readFileSync(fitPath, 'utf8')) };
}

async function exportCanonical(o, colData, site, dir, logPath) {
  fs.rmSync(dir, { recursive: true, force: true });
  const r = await run(o.collectorBin, ['export', '--data', colData, '--canonical', dir, '--site', site], logPath, 'disco-collector export --canonical');
  const m = /(\d+) events, (\d+) decisions, (\d+) activations, (\d+) outcomes/.exec(r.stdout);
  const out = m ? { events: Number(m[1]), decisions: Number(m[2]), activations: Number(m[3]), outcomes: Number(m[4]) } : {};
  Object.defineProperty(out, 'stdout', { value: r.stdout, enumerable: false });  // not in summary.json
  return out;
}

function publishBundle(src, collectorData) {
  const dst = path.join(collectorData, 'bundle.disco');
  fs.copyFileSync(src, dst + '.tmp');
  fs.renameSync(dst + '.tmp', dst);  // atomic: the collector serves the old or the new file, never half
}

// The store's pilot log -> the collector (site "pilot"), as its SDKs would have sent it: events,
// decisions (logged arm and propensity, the store's shopper id), activations, outcomes.
async function uploadPilot(pilotDir, { url, key, keyId, keep }) {
  const t = new Transport({ url, key, keyId, crypto: webcrypto, senderId: 'pilot-upload', maxQueue: 40_000, batchSize: 10_000, flushIntervalMs: 3_600_000, backoffBaseMs: 50, backoffMaxMs: 2000 });
  const counts = { events: 0, decisions: 0, outcomes: 0 };
  const keyOf = new Map();
  const userKey = (u) => { let k = keyOf.get(u); if (!k) keyOf.set(u, (k = fnv1a64(u).toString())); return k; };
  const drain = async () => {
    if (t.size < 30_000) return;
    const r = await t.flush();
    if (!r.ok) throw new Error(`uploading the pilot to the collector: ${r.error?.message ?? JSON.stringify(r)}`);
  };
  const shownById = new Set();
  const items = new Map();
  readCsv(path.join(pilotDir, 'items.csv'), (f, c) => { items.set(f[c.item_id], { price: Number(f[c.price]), cost: f[c.cost] === '' ? 0 : Number(f[c.cost]) }); });
  const rowsOf = (file) => { const rows = []; readCsv(file, (f, c) => rows.push([f, c])); return rows; };
  for (const [f, c] of rowsOf(path.join(pilotDir, 'events.csv'))) {
    if (!keep(f[c.user_id])) continue;
    t.enqueue('events', { user_key: userKey(f[c.user_id]), session_id: f[c.session_id], ts_ms: Number(f[c.ts]), type: f[c.type], item_id: f[c.item_id], price: Number(f[c.price]), quantity: Number(f[c.quantity]) });
    counts.events++;
    await drain();
  }
  const hasShown = fs.existsSync(path.join(pilotDir, 'activations.csv'));
  if (hasShown) readCsv(path.join(pilotDir, 'activations.csv'), (f, c) => shownById.add(f[c.decision_id]));
  const kept = new Set();
  for (const [f, c] of rowsOf(path.join(pilotDir, 'decisions.csv'))) {
    if (!keep(f[c.user_id])) continue;
    const id = f[c.decision_id];
    const it = items.get(f[c.item_id]) ?? { price: 0, cost: 0 };
    t.enqueue('decisions', {
      decision_id: id, ts_ms: Number(f[c.ts]), user_key: userKey(f[c.user_id]), user_id: f[c.user_id], item_id: f[c.item_id],
      arm: Number(f[c.arm]), discount: Number(f[c.discount]), propensity: Number(f[c.propensity]),
      model_version: f[c.model_version] || 'pilot', policy_version: f[c.policy_version] || 'pilot', mode: 'Online',
      shown: hasShown ? shownById.has(id) : true, price: it.price, cost: it.cost,
    });
    kept.add(id);
    counts.decisions++;
    await drain();
  }
  for (const [f, c] of rowsOf(path.join(pilotDir, 'outcomes.csv'))) {
    if (!kept.has(f[c.decision_id])) continue;
    t.enqueue('outcomes', { decision_id: f[c.decision_id], ts_ms: Number(f[c.ts]), converted: f[c.converted] === '1' || f[c.converted] === 'true', revenue: Number(f[c.revenue]), margin: Number(f[c.margin]) });
    counts.outcomes++;
    await drain();
  }
  const r = await t.flush();
  if (!r.ok) throw new Error(`uploading the pilot to the collector: ${r.error?.message ?? JSON.stringify(r)}`);
  t.close();
  return counts;
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
  for (const d of ['keys', 'collector', 'train', 'models', 'gate']) fs.mkdirSync(path.join(o.out, d), { recursive: true });
  const logPath = path.join(o.out, 'loop.log');
  const trainLog = path.join(o.out, 'train.log');
  const log = (s) => { console.log(s); fs.appendFileSync(logPath, s + '\n'); };
  log(`disco loop${o.quick ? ' --quick' : ''}: ${o.shoppers} shoppers, ${o.items} items, ${o.historyDays} history + ${o.days} loop days, ` +
    `${o.edges} edges, sync every ${o.pullEveryS} s (simulated), retrain every ${o.retrainEveryDays} days (${o.trainSteps} steps), ` +
    `policy ${o.policy}, gate ${o.gate ? 'on' : 'off'}${o.holdout ? `, holdout ${o.holdout}` : ''} -> ${o.out}`);

  // 1. signing key; the simulator (history + baselines); the first model from the store's history.
  await execFileP(o.trainBin, ['keygen', '--out', path.join(o.out, 'keys')]);
  const publicKey = new Uint8Array(fs.readFileSync(path.join(o.out, 'keys/public.der')));
  const sim = new SimProcess(o.simBin, ['--out', o.out, '--seed', String(o.seed), '--shoppers', String(o.shoppers),
    '--items', String(o.items), '--days', String(o.days), '--history-days', String(o.historyDays)]);
  const head = JSON.parse(await sim.line());
  const baselines = JSON.parse(fs.readFileSync(path.join(o.out, 'baselines.json'), 'utf8'));
  const DAY = head.day_ms;
  log(`simulator: ${fmt(head.loop_offers)} offer points and ${fmt(head.loop_events)} browsing events in the loop days`);
  const m0 = await train(o, head.history, path.join(o.out, 'models/m0'), 'loop-m0', trainLog);
  log(`bundle m0 trained on the store's ${o.historyDays} history days (no discount) in ${m0.seconds.toFixed(1)} s`);

  // 2. the collector: site "loop" (the edges), site "pilot" (the store's randomized pilot).
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

  // 3. The store's randomized pilot (other shoppers of the same store) -> the collector -> its
  // canonical export -> disco-train policy (warm start, noise scale, delayed cost, value model).
  const pilotDir = path.join(o.out, 'pilot');
  const tp = performance.now();
  await execFileP(o.discoSimBin, ['--seed', String(o.seed), '--out', pilotDir, '--shoppers', String(o.pilotShoppers + o.shoppers),
    '--items', String(o.items), '--days', '49', '--logging-policy', o.pilotPolicy, '--dirty-rate', '0', '--quiet']);
  const up = await uploadPilot(pilotDir, { url: `${col.url}/v1/events`, key: pilotSecret, keyId: pilotKey, keep: (u) => !(u[0] === 'u' && Number(u.slice(1)) < o.shoppers) });
  const pilotLog = path.join(o.out, 'pilot-log');
  const pex = await exportCanonical(o, colData, 'pilot', pilotLog, trainLog);
  log(`pilot (${o.pilotPolicy}, 49 days, ${fmt(o.pilotShoppers)} other shoppers of the store): ${fmt(up.events)} events, ${fmt(up.decisions)} decisions, ` +
    `${fmt(up.outcomes)} outcomes sent to the collector (site pilot, SDK Transport); its canonical export: ${fmt(pex.decisions ?? 0)} decisions, ` +
    `${fmt(pex.events ?? 0)} events; ${((performance.now() - tp) / 1000).toFixed(1)} s`);
  fs.rmSync(pilotDir, { recursive: true, force: true });  // from here on only the collector's export is read

  const tf = performance.now();
  const p0 = await fitPolicy(o, pilotLog, m0.bundle, head.history, path.join(o.out, 'models/m0'), 'loop-m0', trainLog);
  let fitSummary = null;
  if (p0.fit) {
    publishBundle(p0.bundle, colData);
    fitSummary = summarizeFit(p0.fit);
    log(`policy fit (disco-train policy --log pilot-log --bundle m0${o.policy === 'myopic' ? ' --no-value-model' : ''}): ${fitSummary.text}; ` +
      `bundle m0 re-exported with it (disco-train export --policy-fit), ${((performance.now() - tf) / 1000).toFixed(1)} s -> published`);
  }
  let current = { path: p0.bundle, version: 'loop-m0' };

  // 4. the edge fleet.
  const firstBundle = await fetch(`${col.url}/v1/bundle`);
  if (firstBundle.status !== 200) throw new Error(`GET /v1/bundle: HTTP ${firstBundle.status}`);
  const clock = { t: head.start_ms, stepEnd: head.start_ms };
  const ctx = {
    seed: o.seed, publicKey, collectorUrl: col.url, apiKey, secret, clock, pullEveryS: o.pullEveryS, holdout: o.holdout,
    firstBundle: new Uint8Array(await firstBundle.arrayBuffer()), transportErrors: [], syncErrors: [], reportProblems: [],
  };
  const edges = Array.from({ length: o.edges }, (_, i) => new Edge(i, ctx));
  const edgeOf = (shopper) => edges[shopper % edges.length];
  // Before launch the storefront already runs the SDK (tracking, no offers), so each edge has seen
  // the history days' browsing and purchases of the shoppers it serves (their sessions persist).
  if (o.edgeHistory) {
    const kinds = { view: 0, click: 1, cart: 2, remove: 3, purchase: 4 };
    let n = 0;
    readCsv(path.join(head.history, 'events.csv'), (f, c) => {
      const shopper = Number(f[c.user_id].slice(1));
      const type = kinds[f[c.type]];
      if (type === undefined) throw new Error(`history events.csv: unknown type '${f[c.type]}'`);
      edgeOf(shopper).buffer(shopper, Number(f[c.item_id].slice(1)), type, Number(f[c.ts]), Number(f[c.price]), Number(f[c.quantity]));
      n++;
    });
    for (const e of edges) await e.flushBuffers();
    log(`edges: tracked ${fmt(n)} history events (${o.historyDays} days before launch, no offers)`);
  }
  clock.t = clock.stepEnd = head.loop_start_ms;
  for (const e of edges) { await e.flush(); await e.sync(); }
  const info = await edges[0].handler.info();
  log(`edges: ${o.edges} x createEdgeHandler (@disco/sdk, disco.wasm ${info.simd ? 'SIMD128' : 'plain'}), model ${info.modelVersion}, sessions in KV, sync every ${o.pullEveryS} s${o.holdout ? `, holdout ${o.holdout} on arm 0` : ''}`);

  // 5. the loop.
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
      const k = retrains.length + 1;
      const tr = performance.now();
      const dir = path.join(o.out, `train/r${k}`);
      const ex = await exportCanonical(o, colData, 'loop', dir, trainLog);
      const modelDir = path.join(o.out, `models/r${k}`);
      const m = await train(o, dir, modelDir, `loop-r${k}`, trainLog);
      const pk = await fitPolicy(o, pilotLog, m.bundle, dir, modelDir, `loop-r${k}`, trainLog);
      let gate = { decision: 'promote', reason: 'gate off (--gate 0)' };
      if (o.gate) {
        const gj = path.join(o.out, `gate/r${k}.json`);
        const g = await run(o.evalBin, ['gate', '--candidate', pk.bundle, '--current', current.path, '--log', dir, '--json', gj, '--html', path.join(o.out, `gate/r${k}.html`)], trainLog, 'disco-eval gate', [0, 3]);
        const line = (g.stdout.trim().split('\n').find((l) => /^(promote|hold)\b/.test(l)) ?? g.stdout.trim().split('\n').at(-1) ?? '').trim();
        gate = { decision: g.code === 0 ? 'promote' : 'hold', reason: line };
      }
      if (gate.decision === 'promote') { publishBundle(pk.bundle, colData); current = { path: pk.bundle, version: `loop-r${k}` }; }
      const rec = { day, version: `loop-r${k}`, export: ex, seconds: (performance.now() - tr) / 1000, gate, running: current.version };
      retrains.push(rec);
      gateByDay.set(day, gate.decision);
      log(`  retrain r${k} at day ${day}: the collector's canonical export (${fmt(ex.events ?? 0)} events, ${fmt(ex.decisions ?? 0)} decisions, ` +
        `${fmt(ex.outcomes ?? 0)} outcomes), ${o.trainSteps} steps${pk.fit ? ', policy refitted on the pilot export' : ''}, ${rec.seconds.toFixed(1)} s; ` +
        `gate: ${gate.reason}${gate.decision === 'promote' ? ' -> published' : ` -> ${current.version} stays`}`);
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
      for (const e of edges) await e.flushBuffers();
      await Promise.all(edges.map((e) => e.flush()));
      for (const e of edges) await e.sync();
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
  for (const e of edges) await e.flushBuffers();
  await Promise.all(edges.map((e) => e.flush()));
  for (const e of edges) await e.sync();

  // 6. results: the simulator's own per-day figures (cross-checked against the edges' view).
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

  // 7. --quick: the end-to-end assertions (exit status 1 when one fails).
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
  for (const e of edges) await e.handler.close();
}

// A one-line account of a disco-train policy fit (policy_fit.json).
function summarizeFit(fit) {
  const parts = [];
  const arms = fit.arms ?? [];
  if (arms.length) parts.push(`warm start mean reward per arm ${arms.map((a) => Number(a.mean_reward ?? 0).toFixed(3)).join(' / ')}`);
  if (fit.noise_scale !== undefined) parts.push(`noise scale ${Number(fit.noise_scale).toFixed(3)}`);
  const dc = fit.delayed_cost;
  if (dc) parts.push(`pooled delayed cost ${Number(dc.estimate ?? 0).toFixed(4)} +- ${Number(dc.se ?? 0).toFixed(4)} x price (charged into the warm start: ${Number(dc.applied ?? 0).toFixed(4)})`);
  const vm = fit.value_model;
  if (vm) parts.push(`value model on ${fmt(Number(vm.rows ?? 0))} offer points, changes the best arm on ${(100 * Number(vm.share_best_arm_changed ?? 0)).toFixed(0)}% of them`);
  const dg = fit.diagnostics ?? {};
  if (dg.rows !== undefined) parts.push(`${fmt(Number(dg.rows))} replayed decisions (${fmt(Number(dg.randomized_rows ?? 0))} randomized)`);
  return {
    text: parts.join('; '), mean_reward: arms.map((a) => a.mean_reward), noise_scale: fit.noise_scale ?? null, delayed_cost: dc ?? null,
    value_model: vm ? { rows: vm.rows, share_best_arm_changed: vm.share_best_arm_changed, fitted: vm.fitted } : null, rows: dg.rows ?? null,
  };
}

main().catch((e) => {
  console.error(`disco loop: ${process.env.DISCO_LOOP_DEBUG ? e.stack : e.message ?? e}`);
  process.exit(2);
});
