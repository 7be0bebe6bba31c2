// One run, side by side: disco (bench.mjs, native + both wasm builds) and its peers (peers.mjs:
// onnxruntime-web, tfjs-backend-wasm), then the ratios the targets are stated in.
// usage: node bench/wasm/compare.mjs [--iters N] [--peer-iters N]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli } from '../../lib/cli.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const flags = parseCli({ name: 'compare', usage: 'usage: node bench/wasm/compare.mjs [--iters N] [--peer-iters N]', options: { 'iters': { type: 'string' }, 'peer-iters': { type: 'string' } } }).values;
const arg = (name, def) => flags[name] ?? def;
const dir = mkdtempSync(join(tmpdir(), 'disco-compare-'));
const run = (script, args) => execFileSync(process.execPath, [join(HERE, script), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
run('bench.mjs', ['--iters', arg('iters', '20000'), '--json', join(dir, 'disco.json')]);
run('peers.mjs', ['--iters', arg('peer-iters', '2000'), '--json', join(dir, 'peers.json')]);
const d = JSON.parse(readFileSync(join(dir, 'disco.json'), 'utf8'));
const p = JSON.parse(readFileSync(join(dir, 'peers.json'), 'utf8'));
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
const discoShip = d.sizes.simdGz + (d.sizes.jsGz ?? 0);
const rows = [
  ['disco (SIMD128, SDK path)', d.simd.sdk.p50, d.simd.sdk.p99, d.simd.coldMs, discoShip],
  ['onnxruntime-web 1.30', p.ort.p50, p.ort.p99, p.ort.coldMs, p.ort.shipGz.wasm + p.ort.shipGz.js],
  ['tfjs-backend-wasm 4.22', p.tfjs.p50, p.tfjs.p99, p.tfjs.coldMs, p.tfjs.shipGz.wasm + p.tfjs.shipGz.js],
];
console.log('\nside by side (one decision = LSTM step + top-10 of 10k items; disco also decides the offer)');
console.log('                              p50 us    p99 us   cold ms   ships (wasm+JS gzip)   disco faster (p50)   disco smaller');
for (const [name, p50, p99, cold, ship] of rows) {
  const fast = name.startsWith('disco') ? '' : `${(p50 / rows[0][1]).toFixed(1)}x`;
  const small = name.startsWith('disco') ? '' : `${(ship / rows[0][4]).toFixed(0)}x`;
  console.log(`  ${name.padEnd(26)} ${p50.toFixed(1).padStart(8)} ${p99.toFixed(1).padStart(9)} ${cold.toFixed(1).padStart(9)}   ${kb(ship).padStart(12)}         ${fast.padStart(10)}         ${small.padStart(8)}`);
}
if (d.native) console.log(`disco wasm vs native p50: SIMD ${(d.simd.raw.p50 / d.native.p50).toFixed(2)}x, plain ${(d.plain.raw.p50 / d.native.p50).toFixed(2)}x (C ABI loop)`);
