// Peers of bench/wasm/bench.mjs, same run conditions: the float LSTM step + top-10 of 10k items
// (d=32, h=64) in onnxruntime-web (ONNX exported by torch.onnx.export, export_onnx.py) and in
// @tensorflow/tfjs-backend-wasm (the same network built with tfjs ops), both on Node's WASM.
// Prints per-decision p50/p99, cold start (bytes -> first decision, fresh process) and the gzip
// size of the wasm + JS each ships. Single-threaded (numThreads = 1) like disco.
// usage: node bench/wasm/peers.mjs [--iters N] [--items N] [--json FILE]
//        (internal: --cold ort|tfjs DIR prints one cold-start measurement)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parseCli } from '../../lib/cli.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const NM = join(HERE, 'node_modules');
const { values: flags, positionals } = parseCli({ name: 'peers', usage: 'usage: node bench/wasm/peers.mjs [--iters N] [--items N] [--json FILE]\n       (internal: --cold ort|tfjs DIR prints one cold-start measurement)',
  options: { 'iters': { type: 'string' }, 'items': { type: 'string' }, 'json': { type: 'string' }, 'cold': { type: 'string' } }, allowPositionals: true, positionals: [0, 1] });
const arg = (name, def) => flags[name] ?? def;
const ITERS = Number(arg('iters', 2000));
const N = Number(arg('items', 10000));
const D = 32, H = 64;
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(a.length * p))];
const gz = (f) => gzipSync(readFileSync(join(NM, f)), { level: 9 }).length;

function weights() {
  let s = 0x9e3779b9;
  const rnd = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return ((s >>> 0) / 2 ** 32 - 0.5) * 0.5; };
  const count = N * D + 5 * D + 4 * H * D + 4 * H * H + 4 * H + D * H + D;
  const w = new Float32Array(count);
  for (let i = 0; i < count; i++) w[i] = rnd();
  let off = 0;
  const take = (n) => { const v = w.subarray(off, off + n); off += n; return v; };
  return { all: w, itemEmb: take(N * D), typeEmb: take(5 * D), wIh: take(4 * H * D), wHh: take(4 * H * H), b: take(4 * H), proj: take(D * H), projB: take(D) };
}

// ---------------------------------------------------------------------------------- onnxruntime
async function ortSetup(modelBytes) {
  const ort = await import(join(NM, 'onnxruntime-web/dist/ort.node.min.mjs'));
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = join(NM, 'onnxruntime-web/dist/');
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
  let h = new ort.Tensor('float32', new Float32Array(H), [1, H]);
  let c = new ort.Tensor('float32', new Float32Array(H), [1, H]);
  return async (item, type) => {
    const r = await session.run({
      item: new ort.Tensor('int64', BigInt64Array.from([BigInt(item)]), [1]),
      type: new ort.Tensor('int64', BigInt64Array.from([BigInt(type)]), [1]), h, c,
    });
    h = r.h_out; c = r.c_out;
    return Array.from(r.top_items.data, Number);
  };
}

// ---------------------------------------------------------------------------------- tfjs wasm
async function tfjsSetup(w) {
  const tf = await import('@tensorflow/tfjs-core');
  const wasmMod = await import('@tensorflow/tfjs-backend-wasm');
  wasmMod.setWasmPaths(join(NM, '@tensorflow/tfjs-backend-wasm/dist/'));
  wasmMod.setThreadsCount?.(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const itemEmb = tf.tensor2d(w.itemEmb, [N, D]);
  const typeEmb = tf.tensor2d(w.typeEmb, [5, D]);
  const wIhT = tf.transpose(tf.tensor2d(w.wIh, [4 * H, D]));
  const wHhT = tf.transpose(tf.tensor2d(w.wHh, [4 * H, H]));
  const b = tf.tensor1d(w.b);
  const projT = tf.transpose(tf.tensor2d(w.proj, [D, H]));
  const projB = tf.tensor1d(w.projB);
  let h = tf.zeros([1, H]);
  let c = tf.zeros([1, H]);
  return async (item, type) => {
    const [h1, c1, idx] = tf.tidy(() => {
      const x = tf.add(tf.gather(itemEmb, [item]), tf.gather(typeEmb, [type]));
      const g = tf.add(tf.add(tf.matMul(x, wIhT), tf.matMul(h, wHhT)), b);
      const [gi, gf, gg, go] = tf.split(g, 4, 1);
      const cn = tf.add(tf.mul(tf.sigmoid(gf), c), tf.mul(tf.sigmoid(gi), tf.tanh(gg)));
      const hn = tf.mul(tf.sigmoid(go), tf.tanh(cn));
      const q = tf.add(tf.matMul(hn, projT), projB);
      const scores = tf.reshape(tf.matMul(itemEmb, tf.transpose(q)), [-1]);
      return [hn, cn, tf.topk(scores, 10).indices];
    });
    h.dispose(); c.dispose();
    h = h1; c = c1;
    const top = Array.from(idx.dataSync());
    idx.dispose();
    return top;
  };
}

async function loop(step) {
  const us = new Float64Array(ITERS);
  for (let i = -200; i < ITERS; i++) {
    const item = (i + 200) * 2654435761 % N;
    const t0 = process.hrtime.bigint();
    await step(item, ((i % 3) + 3) % 3);
    const t1 = process.hrtime.bigint();
    if (i >= 0) us[i] = Number(t1 - t0) / 1000;
  }
  us.sort();
  return { p50: pct(us, 0.5), p99: pct(us, 0.99) };
}

if (arg('cold', null)) {
  const which = arg('cold');
  const dir = positionals[0];
  const w = weights();
  const t0 = performance.now();
  const step = which === 'ort' ? await ortSetup(new Uint8Array(readFileSync(join(dir, 'model.onnx')))) : await tfjsSetup(w);
  await step(1, 0);
  console.log(JSON.stringify({ ms: performance.now() - t0 }));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'disco-peers-'));
const w = weights();
writeFileSync(join(dir, 'weights.f32'), new Uint8Array(w.all.buffer));
// Debian's python3-torch lives in /usr/bin/python3 (a pyenv python3 on PATH would not see it)
execFileSync(existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', [join(HERE, 'export_onnx.py'), join(dir, 'weights.f32'), join(dir, 'model.onnx'), String(N), String(D), String(H)], { stdio: ['ignore', 'ignore', 'inherit'] });
const model = new Uint8Array(readFileSync(join(dir, 'model.onnx')));

const ortStep = await ortSetup(model);
const tfStep = await tfjsSetup(w);
// sanity: both run the same network (same weights): same top-10 for the same input sequence
let agree = 0;
for (let i = 0; i < 20; i++) {
  const a = await ortStep(i * 37 % N, i % 3);
  const b = await tfStep(i * 37 % N, i % 3);
  if (a.join() === b.join()) agree++;
}
const res = { items: N, iters: ITERS, ort: await loop(ortStep), tfjs: await loop(tfStep), top10Agreement: agree / 20 };
const cold = (which) => {
  const ms = [];
  for (let i = 0; i < 5; i++) ms.push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--items', String(N), '--cold', which, dir], { encoding: 'utf8' })).ms);
  return ms.sort((a, b) => a - b)[2];
};
res.ort.coldMs = cold('ort');
res.tfjs.coldMs = cold('tfjs');
res.ort.shipGz = { wasm: gz('onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'), js: gz('onnxruntime-web/dist/ort.wasm.min.mjs') + gz('onnxruntime-web/dist/ort-wasm-simd-threaded.mjs') };
res.tfjs.shipGz = { wasm: gz('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'), js: gz('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js') + gz('@tensorflow/tfjs-core/dist/tf-core.min.js') };
res.modelBytes = model.length;
const kb = (x) => `${(x / 1024).toFixed(0)} KB`;
console.log(`peers (float LSTM step + top-10 of ${N}, d=${D}, h=${H}, 1 thread), ${ITERS} decisions; top-10 agreement ort vs tfjs ${(res.top10Agreement * 100).toFixed(0)}%`);
for (const [name, r] of [['onnxruntime-web 1.30', res.ort], ['tfjs-backend-wasm 4.22', res.tfjs]]) {
  console.log(`  ${name.padEnd(24)} p50 ${r.p50.toFixed(1).padStart(8)} us  p99 ${r.p99.toFixed(1).padStart(8)} us  cold ${r.coldMs.toFixed(1).padStart(7)} ms  ships ${kb(r.shipGz.wasm)} wasm + ${kb(r.shipGz.js)} JS gzip`);
}
const jsonOut = arg('json', null);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(res, null, 2));
