// disco in WASM on Node vs native, measured in one run:
//   one decision = observe + top-10 of 10k items (d=32, h=64, int8) + offer, p50/p99, same loop as
//   `disco bench` (runtime/cli/disco_cli.cpp); the SDK-level path (string ids, JS objects);
//   cold start = bytes -> compile + instantiate + signature check + bundle load + first decision
//   (fresh Node process each time); shipped sizes (gzip).
// usage: node bench/wasm/bench.mjs [--iters N] [--items N] [--wasm-dir DIR] [--label L] [--json FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Engine, Disco } from '../../sdk-js/src/node.js';
import { BundleRef } from '../../sdk-js/src/engine.js';
import { rawLoop, sdkLoop } from './loops.mjs';
import { findBuilt, makeBundleTool, testKey } from '../../tests/sdk/helpers.mjs';
import { parseCli } from '../../lib/cli.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const flags = parseCli({ name: 'bench', usage: 'usage: node bench/wasm/bench.mjs [--iters N] [--items N] [--wasm-dir DIR] [--label L] [--json FILE]',
  options: { 'iters': { type: 'string' }, 'items': { type: 'string' }, 'wasm-dir': { type: 'string' }, 'label': { type: 'string' }, 'json': { type: 'string' } } }).values;
const arg = (name, def) => flags[name] ?? def;
const ITERS = Number(arg('iters', 20000));
const ITEMS = Number(arg('items', 10000));
const WASM_DIR = resolve(arg('wasm-dir', join(ROOT, 'sdk-js/dist')));
const LABEL = arg('label', '-Oz');
const gz = (b) => gzipSync(b, { level: 9 }).length;
const fmt = (x) => x.toFixed(2).padStart(8);

const dir = mkdtempSync(join(tmpdir(), 'disco-bench-'));
const key = testKey();
writeFileSync(join(dir, 'key.pem'), key.pem);
const bundlePath = join(dir, 'bundle.disco');
execFileSync(makeBundleTool(), ['--out', bundlePath, '--items', String(ITEMS), '--dim', '32', '--hidden', '64', '--key', join(dir, 'key.pem')], { stdio: 'ignore' });
const bundleBytes = new Uint8Array(readFileSync(bundlePath));
const wasm = { simd: new Uint8Array(readFileSync(join(WASM_DIR, 'disco-simd.wasm'))), plain: new Uint8Array(readFileSync(join(WASM_DIR, 'disco.wasm'))) };

// ---- native, same loop, same bundle
let native = null;
const cli = findBuilt('runtime/cli/disco', 'DISCO_CLI');
if (cli) {
  const out = execFileSync(cli, ['bench', bundlePath, '--iters', String(ITERS)], { encoding: 'utf8' });
  const m = out.match(/p50 ([\d.]+) us\s+p90 ([\d.]+) us\s+p99 ([\d.]+) us/);
  const k = out.match(/kernels (\S+?):/);
  native = { p50: Number(m[1]), p99: Number(m[3]), kernels: k ? k[1] : '?' };
}

// ---- cold start in a fresh process: the same work as Disco.create({ wasm, bundle, publicKey }) +
// the first decision, done step by step so that each phase is timed (the sum is the cold start).
//   compile     WebAssembly.compile(bytes)  (V8: Liftoff baseline code; TurboFan tiers up later)
//   instantiate WebAssembly.instantiate + _initialize + the SDK's Engine
//   verify      ECDSA P-256 signature check of the bundle (WebCrypto)
//   load        bundle load in wasm (FlatBuffers verifier, id index; the XXH64 pass is skipped once
//               the signature verified) + runtime + session
//   first       track + recommend top-10 + offerSync
const PHASES = ['compile', 'instantiate', 'verify', 'load', 'first'];
function coldStart(build, runs = 9) {
  const child = `
    import { readFileSync } from 'node:fs';
    import { webcrypto } from 'node:crypto';
    import { Disco, Engine, verifyBundle } from ${JSON.stringify(join(ROOT, 'sdk-js/src/node.js'))};
    import { instantiateDisco } from ${JSON.stringify(join(ROOT, 'sdk-js/src/wasm.js'))};
    import { BundleRef } from ${JSON.stringify(join(ROOT, 'sdk-js/src/engine.js'))};
    import { readModelSummary } from ${JSON.stringify(join(ROOT, 'sdk-js/src/bundle.js'))};
    const w = new Uint8Array(readFileSync(process.argv[1])), b = new Uint8Array(readFileSync(process.argv[2]));
    const k = new Uint8Array(readFileSync(process.argv[3]));
    const crypto = globalThis.crypto?.subtle ? globalThis.crypto : webcrypto;
    const t = [performance.now()];
    const module = await WebAssembly.compile(w);
    t.push(performance.now());
    const engine = new Engine(await instantiateDisco(module), ${build === 'simd'});
    t.push(performance.now());
    const header = await verifyBundle(b, k, { crypto });
    t.push(performance.now());
    // = the rest of Disco.create after a successful verify (sdk-js/src/index.js loadBundle + constructor)
    const d = new Disco(engine, new BundleRef(engine, b, { signatureVerified: true }), readModelSummary(header.payload), { crypto, seed: 1, userKey: 1 }, null);
    t.push(performance.now());
    d.track({ type: 'view', itemId: 'item-1' });
    const r = d.recommend({ k: 10 });
    d.offerSync(r[0].itemId);
    t.push(performance.now());
    console.log(JSON.stringify({ ms: t[5] - t[0], phases: t.slice(1).map((x, i) => x - t[i]) }));`;
  // The public path in one call (Disco.create overlaps the signature check with compile + load).
  const e2e = `
    import { readFileSync } from 'node:fs';
    import { Disco } from ${JSON.stringify(join(ROOT, 'sdk-js/src/node.js'))};
    const w = new Uint8Array(readFileSync(process.argv[1])), b = new Uint8Array(readFileSync(process.argv[2]));
    const k = new Uint8Array(readFileSync(process.argv[3]));
    const t0 = performance.now();
    const d = await Disco.create({ wasm: { ${build}: w }, bundle: b, publicKey: k, seed: 1, userKey: 1 });
    d.track({ type: 'view', itemId: 'item-1' });
    const r = d.recommend({ k: 10 });
    d.offerSync(r[0].itemId);
    console.log(JSON.stringify({ ms: performance.now() - t0 }));`;
  writeFileSync(join(dir, 'key.der'), key.spki);
  const runsOut = [], e2eMs = [];
  const args = [join(WASM_DIR, build === 'simd' ? 'disco-simd.wasm' : 'disco.wasm'), bundlePath, join(dir, 'key.der')];
  for (let i = 0; i < runs; i++) {
    runsOut.push(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child, ...args], { encoding: 'utf8' })));
    e2eMs.push(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', e2e, ...args], { encoding: 'utf8' })).ms);
  }
  const med = (xs) => xs.slice().sort((a, b) => a - b)[runs >> 1];
  return { ms: med(e2eMs), phasedMs: med(runsOut.map((r) => r.ms)), phases: Object.fromEntries(PHASES.map((p, i) => [p, med(runsOut.map((r) => r.phases[i]))])) };
}

const results = { label: LABEL, iters: ITERS, items: ITEMS, native };
for (const build of ['simd', 'plain']) {
  const engine = await Engine.load({ [build]: wasm[build] });
  const cold = coldStart(build);
  results[build] = { raw: rawLoop(engine, bundleBytes, ITERS), sdk: await sdkLoop({ [build]: wasm[build] }, { bundleBytes, key, ITERS, ITEMS, Disco }), coldMs: cold.ms, coldPhasedMs: cold.phasedMs, coldPhases: cold.phases };
}
const js = (() => { try { return readFileSync(join(ROOT, 'sdk-js/dist/disco.min.js')); } catch { return null; } })();
results.sizes = { simdGz: gz(wasm.simd), plainGz: gz(wasm.plain), simdRaw: wasm.simd.length, plainRaw: wasm.plain.length, jsGz: js ? gz(js) : null };
results.bundleBytes = bundleBytes.length;

console.log(`disco WASM bench (${LABEL}), ${ITERS} decisions, ${ITEMS} items, d=32, h=64, bundle ${(bundleBytes.length / 1024).toFixed(0)} KB`);
console.log('one decision (observe + top-10 + offer)           p50 us   p99 us   p50 vs native');
if (native) console.log(`  native (${native.kernels.padEnd(8)})                            ${fmt(native.p50)} ${fmt(native.p99)}      1.00x`);
for (const b of ['simd', 'plain']) {
  const r = results[b];
  const ratio = (x) => (native ? `${(x / native.p50).toFixed(2)}x`.padStart(10) : '');
  console.log(`  wasm ${b.padEnd(5)} C ABI loop (same as native)       ${fmt(r.raw.p50)} ${fmt(r.raw.p99)} ${ratio(r.raw.p50)}`);
  console.log(`  wasm ${b.padEnd(5)} SDK track+recommend+offerSync     ${fmt(r.sdk.p50)} ${fmt(r.sdk.p99)} ${ratio(r.sdk.p50)}`);
}
// (disco_rank is native only: the SDK's rank() is recommend over the catalog, restricted in JS)
console.log('rank a page\'s candidates vs recommend top-10      p50 us   p99 us');
for (const b of ['simd', 'plain']) {
  const { raw, sdk } = results[b];
  for (const [what, q] of [['C ABI recommend top-10', raw.recommend], ['SDK recommend top-10', sdk.recommend], ['SDK rank 50 candidates', sdk.rank50], ['SDK rank 500 candidates', sdk.rank500]]) {
    console.log(`  wasm ${b.padEnd(5)} ${what.padEnd(28)}${fmt(q.p50)} ${fmt(q.p99)}`);
  }
}
console.log(`cold start, bytes -> first decision, Disco.create path (median of 9 fresh processes): simd ${results.simd.coldMs.toFixed(2)} ms, plain ${results.plain.coldMs.toFixed(2)} ms`);
for (const b of ['simd', 'plain']) console.log(`  ${b.padEnd(5)} step by step ${results[b].coldPhasedMs.toFixed(2)} ms = medians ` + PHASES.map((p) => `${p} ${results[b].coldPhases[p].toFixed(2)}`).join(', '));
const s = results.sizes;
console.log(`shipped: disco-simd.wasm ${(s.simdGz / 1024).toFixed(1)} KB gzip (${(s.simdRaw / 1024).toFixed(0)} KB raw), disco.wasm ${(s.plainGz / 1024).toFixed(1)} KB gzip` + (s.jsGz ? `, disco.min.js ${(s.jsGz / 1024).toFixed(1)} KB gzip; total ${((s.simdGz + s.jsGz) / 1024).toFixed(1)} KB` : ' (run npm run build:js in sdk-js for the JS size)'));
if (!native) console.log('native: runtime/cli/disco not built (scripts/setup.sh builds it): no ratio');
const jsonOut = arg('json', null);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
