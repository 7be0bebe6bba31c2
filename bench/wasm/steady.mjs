// The WASM-vs-native ratio as a steady instrument. Every measurement is one fresh, pinned process:
// native = `disco bench` (runtime/cli/disco_cli.cpp), wasm = this file with --measure abi|sdk (the
// same C ABI loop through disco-simd.wasm, or the SDK's public path track + recommend + offerSync),
// all on the same bundle, 1,000 warm-up decisions each. They run in interleaved rounds, the order
// reversed every other round (native, abi, sdk / sdk, abi, native), so that drift of the machine
// falls on both sides alike; per round the ratio of the p50s (and p99s); over the rounds the median
// and the spread. Pinned: one CPU for every measured process (taskset, when present: a fresh process
// on a shared machine is scheduled alike whatever it runs), wasm compiled by TurboFan up front
// (--no-liftoff: no tier-up in the middle of a loop), a full GC before the loop (--expose-gc).
// usage: node bench/wasm/steady.mjs [--rounds R] [--iters N] [--items N] [--runs K] [--chromium] [--no-pin] [--json FILE]
//   --chromium  also, in every round, the same two wasm loops in a fresh page of headless Chromium
//               (Debian's /usr/bin/chromium through playwright-core, pinned alike) and the cold start
//               (bytes in memory -> Disco.create -> first decision) in a fresh Node process and a fresh page
//   --runs K  K runs of R rounds back to back, and how far their median ratios differ
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, Disco } from '../../sdk-js/src/node.js';
import { findBuilt, makeBundleTool, testKey } from '../../tests/sdk/helpers.mjs';
import { parseCli } from '../../lib/cli.mjs';
import { rawLoop, sdkLoop } from './loops.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const USAGE = 'usage: node bench/wasm/steady.mjs [--rounds R] [--iters N] [--items N] [--runs K] [--chromium] [--no-pin] [--json FILE]';
const flags = parseCli({ name: 'steady', usage: USAGE, options: {
  rounds: { type: 'string' }, iters: { type: 'string' }, items: { type: 'string' }, runs: { type: 'string' },
  'no-pin': { type: 'boolean' }, chromium: { type: 'boolean' }, json: { type: 'string' }, measure: { type: 'string' }, bundle: { type: 'string' } } }).values;
const num = (name, def, min) => {
  const v = Number(flags[name] ?? def);
  if (!Number.isInteger(v) || v < min) { console.error(`steady: --${name} must be an integer >= ${min}, got '${flags[name]}'\n${USAGE}`); process.exit(2); }
  return v;
};
const ROUNDS = num('rounds', 9, 3), ITERS = num('iters', 5000, 500), ITEMS = num('items', 10000, 100), RUNS = num('runs', 1, 1);
const V8_FLAGS = ['--no-liftoff', '--expose-gc'];
const SIMD = join(ROOT, 'sdk-js/dist/disco-simd.wasm');

// ---- one wasm measurement (a child of the parent below): print {p50, p99} as JSON
if (flags.measure) {
  const bundleBytes = new Uint8Array(readFileSync(flags.bundle));
  const simd = new Uint8Array(readFileSync(SIMD));
  if (flags.measure === 'cold') { // bytes in memory -> Disco.create -> first decision, as page.html
    const spki = new Uint8Array(readFileSync(flags.bundle + '.spki'));
    const t0 = performance.now();
    const d = await Disco.create({ wasm: { simd }, bundle: bundleBytes, publicKey: spki, seed: 1, userKey: 1 });
    d.track({ type: 'view', itemId: 'item-1' });
    d.offerSync(d.recommend({ k: 10 })[0].itemId);
    console.log(JSON.stringify({ ms: performance.now() - t0 }));
    process.exit(0);
  }
  const engine = await Engine.load({ simd });
  globalThis.gc?.();
  const r = flags.measure === 'abi' ? rawLoop(engine, bundleBytes, ITERS)
    : await sdkLoop(null, { bundleBytes, key: { spki: new Uint8Array(readFileSync(flags.bundle + '.spki')) }, ITERS, ITEMS, rank: false, engine, Disco });
  console.log(JSON.stringify({ p50: r.p50, p99: r.p99 }));
  process.exit(0);
}

const LABELS = { abi: 'wasm SIMD C ABI / native, p50', abiP99: 'wasm SIMD C ABI / native, p99', sdkVsAbi: 'SDK path / C ABI, p50',
  sdkVsAbiP99: 'SDK path / C ABI, p99', sdk: 'SDK path / native, p50', chrAbi: 'Chromium wasm C ABI / native, p50',
  chrAbiP99: 'Chromium wasm C ABI / native, p99', chrSdkVsAbi: 'Chromium SDK path / C ABI, p50', chrVsNode: 'Chromium / Node, wasm C ABI p50' };
const median = (xs) => { const a = [...xs].sort((x, y) => x - y); return a.length % 2 ? a[a.length >> 1] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2; };
const spread = (xs) => { const m = median(xs); return { median: m, min: Math.min(...xs), max: Math.max(...xs), mad: median(xs.map((x) => Math.abs(x - m))) }; };

const cli = findBuilt('runtime/cli/disco', 'DISCO_CLI');
if (!cli) { console.error('steady: runtime/cli/disco is not built (scripts/setup.sh builds it into build/release)'); process.exit(2); }
if (!existsSync(SIMD)) { console.error(`steady: ${SIMD} missing: run wasm/build.sh`); process.exit(2); }
const taskset = ['/usr/bin/taskset', '/bin/taskset'].find(existsSync);
const cpu = cpus().length - 1;
const pin = taskset && !flags['no-pin'] ? [taskset, '-c', String(cpu)] : [];
const dir = mkdtempSync(join(tmpdir(), 'disco-steady-'));
const key = testKey();
writeFileSync(join(dir, 'key.pem'), key.pem);
const bundlePath = join(dir, 'bundle.disco');
writeFileSync(bundlePath + '.spki', key.spki);
execFileSync(makeBundleTool(), ['--out', bundlePath, '--items', String(ITEMS), '--dim', '32', '--hidden', '64', '--key', join(dir, 'key.pem')], { stdio: 'ignore' });

let browser = null, coldBrowser = null, pageUrl = null, server = null;
if (flags.chromium) ({ browser, coldBrowser, pageUrl, server } = await startChromium());

async function startChromium() {
  const CHROMIUM = process.env.DISCO_CHROMIUM ?? '/usr/bin/chromium';
  let chromium;
  try { ({ chromium } = await import('playwright-core')); } catch {
    console.error('steady: --chromium needs playwright-core: run `(cd bench/wasm && npm ci)`'); process.exit(2);
  }
  if (!existsSync(CHROMIUM)) { console.error(`steady: --chromium: ${CHROMIUM} missing (apt-get install chromium, or set DISCO_CHROMIUM)`); process.exit(2); }
  const { createServer } = await import('node:http');
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };
  const files = { '/bundle': bundlePath, '/spki': bundlePath + '.spki', '/': join(HERE, 'page.html') };
  const srv = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = files[path] ?? (/^\/(sdk-js\/src|sdk-js\/dist|bench\/wasm)\/[\w.-]+$/.test(path) ? join(ROOT, path) : null);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    if (!file || !existsSync(file)) { res.writeHead(404, headers).end(); return; }
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, { ...headers, 'Content-Type': types[ext] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  // Chromium pinned like the other measured processes: a wrapper that execs it under taskset.
  let exe = CHROMIUM;
  if (pin.length) {
    exe = join(dir, 'chromium-pinned');
    writeFileSync(exe, `#!/bin/sh\nexec ${pin.join(' ')} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  }
  const b = await chromium.launch({ executablePath: exe, args: ['--no-sandbox', '--js-flags=--no-liftoff'] });
  const cb = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }); // cold starts: unpinned, default tiers
  return { browser: b, coldBrowser: cb, server: srv, pageUrl: `http://127.0.0.1:${srv.address().port}/` };
}
async function inPage(kind, br = browser) { // one measurement in a fresh page (new browser context: nothing cached or shared)
  const ctx = await br.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(pageUrl);
    await page.waitForFunction(() => window.discoReady === true);
    const r = await page.evaluate(([k, n, m]) => window.discoBench(k, n, m), [kind, ITERS, ITEMS]);
    if (kind !== 'cold' && !r.isolated) throw new Error('steady: the bench page is not cross-origin isolated (COOP/COEP headers?)');
    return r;
  } finally { await ctx.close(); }
}

const exec = (argv) => execFileSync(pin.length ? pin[0] : argv[0], [...pin.slice(1), ...(pin.length ? argv : argv.slice(1))], { encoding: 'utf8' });
const measure = {
  native() {
    const out = exec([cli, 'bench', bundlePath, '--iters', String(ITERS)]);
    const m = out.match(/p50 ([\d.]+) us\s+p90 ([\d.]+) us\s+p99 ([\d.]+) us/);
    if (!m) throw new Error(`steady: unexpected output of ${cli} bench:\n${out}`);
    return { p50: Number(m[1]), p99: Number(m[3]) };
  },
  abi: () => JSON.parse(exec([process.execPath, ...V8_FLAGS, fileURLToPath(import.meta.url), '--measure', 'abi', '--bundle', bundlePath, '--iters', String(ITERS), '--items', String(ITEMS)])),
  sdk: () => JSON.parse(exec([process.execPath, ...V8_FLAGS, fileURLToPath(import.meta.url), '--measure', 'sdk', '--bundle', bundlePath, '--iters', String(ITERS), '--items', String(ITEMS)])),
  // cold start as a shopper's device runs it: not pinned (V8 compiles on background threads), default tiers
  cold: () => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', 'cold', '--bundle', bundlePath], { encoding: 'utf8' })),
  chrAbi: () => inPage('abi'),
  chrSdk: () => inPage('sdk'),
  chrCold: () => inPage('cold', coldBrowser),
};
const KINDS = flags.chromium ? ['native', 'abi', 'sdk', 'chrAbi', 'chrSdk', 'cold', 'chrCold'] : ['native', 'abi', 'sdk'];

async function oneRun(k) {
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...KINDS].reverse() : KINDS;
    const got = {};
    for (const what of order) got[what] = await measure[what]();
    rounds.push(got);
    console.log(`${RUNS > 1 ? `run ${k + 1} ` : ''}round ${String(r + 1).padStart(2)} (${order.join(', ')}): p50 native ${got.native.p50.toFixed(2)}  wasm C ABI ${got.abi.p50.toFixed(2)}  SDK ${got.sdk.p50.toFixed(2)} us;  C ABI/native ${(got.abi.p50 / got.native.p50).toFixed(3)}x  SDK/C ABI ${(got.sdk.p50 / got.abi.p50).toFixed(3)}x`
      + (flags.chromium ? `;  Chromium C ABI ${got.chrAbi.p50.toFixed(2)} SDK ${got.chrSdk.p50.toFixed(2)} us; cold Node ${got.cold.ms.toFixed(1)} Chromium ${got.chrCold.ms.toFixed(1)} ms` : ''));
  }
  const ratios = {
    abi: spread(rounds.map((g) => g.abi.p50 / g.native.p50)),
    abiP99: spread(rounds.map((g) => g.abi.p99 / g.native.p99)),
    sdkVsAbi: spread(rounds.map((g) => g.sdk.p50 / g.abi.p50)),
    sdkVsAbiP99: spread(rounds.map((g) => g.sdk.p99 / g.abi.p99)),
    sdk: spread(rounds.map((g) => g.sdk.p50 / g.native.p50)),
    ...(flags.chromium ? {
      chrAbi: spread(rounds.map((g) => g.chrAbi.p50 / g.native.p50)),
      chrAbiP99: spread(rounds.map((g) => g.chrAbi.p99 / g.native.p99)),
      chrSdkVsAbi: spread(rounds.map((g) => g.chrSdk.p50 / g.chrAbi.p50)),
      chrVsNode: spread(rounds.map((g) => g.chrAbi.p50 / g.abi.p50)),
    } : {}),
  };
  const us = Object.fromEntries(KINDS.filter((w) => !/cold/i.test(w)).flatMap((w) => ['p50', 'p99'].map((q) => [`${w}_${q}`, median(rounds.map((g) => g[w][q]))])));
  const cold = flags.chromium ? { node: spread(rounds.map((g) => g.cold.ms)), chromium: spread(rounds.map((g) => g.chrCold.ms)) } : null;
  console.log(`\n${ROUNDS} rounds x ${ITERS} decisions (observe + top-10 of ${ITEMS} items + offer), medians over rounds:`);
  console.log(`  p50 us: native ${us.native_p50.toFixed(2)}, wasm C ABI ${us.abi_p50.toFixed(2)}, SDK ${us.sdk_p50.toFixed(2)};  p99 us: native ${us.native_p99.toFixed(2)}, wasm C ABI ${us.abi_p99.toFixed(2)}, SDK ${us.sdk_p99.toFixed(2)}`);
  if (flags.chromium) {
    console.log(`  Chromium p50 us: wasm C ABI ${us.chrAbi_p50.toFixed(2)}, SDK ${us.chrSdk_p50.toFixed(2)};  p99 us: wasm C ABI ${us.chrAbi_p99.toFixed(2)}, SDK ${us.chrSdk_p99.toFixed(2)}  (performance.now in 5 us steps)`);
    console.log(`  cold start, bytes -> Disco.create -> first decision, median (min-max): Node ${cold.node.median.toFixed(1)} ms (${cold.node.min.toFixed(1)}-${cold.node.max.toFixed(1)}), Chromium ${cold.chromium.median.toFixed(1)} ms (${cold.chromium.min.toFixed(1)}-${cold.chromium.max.toFixed(1)})`);
  }
  console.log('  ratio                               median     min     max   spread (MAD / median)');
  for (const [name, s] of Object.entries(ratios)) console.log(`  ${LABELS[name].padEnd(34)} ${s.median.toFixed(3).padStart(7)}x ${s.min.toFixed(3).padStart(7)} ${s.max.toFixed(3).padStart(7)}   ${(100 * s.mad / s.median).toFixed(1)}%`);
  console.log(`  targets: C ABI/native <= 1.5x: ${ratios.abi.median <= 1.5 ? 'met' : 'NOT met'};  SDK/C ABI <= 1.15x: ${ratios.sdkVsAbi.median <= 1.15 ? 'met' : 'NOT met'}\n`);
  return { rounds, ratios, us, cold };
}

const runs = [];
for (let k = 0; k < RUNS; k++) runs.push(await oneRun(k));
if (browser) { await browser.close(); await coldBrowser.close(); server.close(); }
console.log(`${pin.length ? `every measured process pinned to CPU ${cpu} (taskset)` : 'not pinned'}; wasm under node ${V8_FLAGS.join(' ')}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
if (RUNS > 1) {
  console.log(`${RUNS} runs back to back, median over rounds of each run:`);
  for (const name of ['abi', 'sdkVsAbi', 'sdk']) {
    const ms = runs.map((r) => r.ratios[name].median);
    const dev = (Math.max(...ms) - Math.min(...ms)) / Math.min(...ms);
    console.log(`  ${LABELS[name].padEnd(34)} ${ms.map((m) => m.toFixed(3) + 'x').join('  ')}   runs differ by ${(100 * dev).toFixed(1)}% ${dev <= 0.10 ? '(within 10%)' : '(NOT within 10%)'}`);
  }
}
if (flags.json) writeFileSync(flags.json, JSON.stringify({ pinned: pin.length > 0, v8: V8_FLAGS, iters: ITERS, items: ITEMS, runs }, null, 2));
