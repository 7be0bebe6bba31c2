// Size budget: disco.wasm + the JS that loads it (minified as shipped: sdk-js/build.mjs, esbuild +
// terser) must stay <= 64 KB gzip (level 9) together, for each of the two wasm builds and each of the
// two shipped entries (dist/disco.min.js: browsers; dist/disco-edge.min.js: edge workers).
// It also prints where the bytes go (wasm sections, gzipped one by one; JS per entry), so the next
// change that needs room knows what to shrink: node --test tests/sdk/size.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { wasmBytes } from './helpers.mjs';
import { minified, BUILDS } from '../../sdk-js/build.mjs';

const BUDGET = 64 * 1024;
const gz = (b) => gzipSync(b, { level: 9 }).length;

// The sections of a wasm module: [{ id, name, bytes }] (custom sections by their name).
export function wasmSections(bytes) {
  const names = { 1: 'type', 2: 'import', 3: 'function', 4: 'table', 5: 'memory', 6: 'global', 7: 'export',
    8: 'start', 9: 'elem', 10: 'code', 11: 'data', 12: 'datacount' };
  const leb = (at) => {
    let v = 0, shift = 0, b;
    do { b = bytes[at.i++]; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return v;
  };
  const out = [];
  const at = { i: 8 };
  while (at.i < bytes.length) {
    const id = bytes[at.i++];
    const size = leb(at);
    const start = at.i;
    let name = names[id] ?? `id ${id}`;
    if (id === 0) { const n = leb(at); name = `custom "${new TextDecoder().decode(bytes.subarray(at.i, at.i + n))}"`; }
    out.push({ id, name, bytes: bytes.subarray(start, start + size) });
    at.i = start + size;
  }
  return out;
}

// "code 96.0 KB -> 42.1 KB gzip, data ..., other ...": each part gzipped alone (their sum is a bit more
// than the whole file gzipped, which is what the budget counts).
function wasmSplit(bytes) {
  const parts = { code: [], data: [], other: [] };
  for (const s of wasmSections(bytes)) (s.id === 10 ? parts.code : s.id === 11 ? parts.data : parts.other).push(s.bytes);
  return Object.entries(parts).map(([k, list]) => {
    const all = new Uint8Array(list.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of list) { all.set(b, o); o += b.length; }
    return `${k} ${all.length} B -> ${gz(all)} B gzip`;
  }).join(', ');
}

test('size: each disco.wasm + each shipped JS entry <= 64 KB gzip', async () => {
  const { simd, plain } = wasmBytes();
  const wasm = [['disco-simd.wasm', simd], ['disco.wasm', plain]];
  const js = [];
  for (const [out, entry] of Object.entries(BUILDS)) js.push([out.replace('dist/', ''), await minified(entry)]);
  for (const [name, b] of [...wasm, ...js]) console.log(`${name}: ${b.length} B, ${gz(b)} B gzip`);
  for (const [name, b] of wasm) console.log(`  ${name} split: ${wasmSplit(b)}`);
  for (const [w, wb] of wasm) {
    for (const [j, jb] of js) {
      const total = gz(wb) + gz(jb);
      console.log(`${w} + ${j} = ${total} B gzip (${BUDGET - total} B left of ${BUDGET})`);
      assert.ok(total <= BUDGET, `${w} (${gz(wb)} B gzip) + ${j} (${gz(jb)} B gzip) = ${total} B > ${BUDGET} B`);
    }
  }
  // the JS must not silently include Node-only modules
  for (const [j, jb] of js) assert.doesNotMatch(new TextDecoder().decode(jb), /node:fs|node:crypto/, j);
});

test('size: the section reader sees the whole module', () => {
  const { simd } = wasmBytes();
  const s = wasmSections(simd);
  assert.ok(s.some((x) => x.name === 'code') && s.some((x) => x.name === 'data'));
  assert.equal(s.reduce((n, x) => n + x.bytes.length, 0) < simd.length, true);
  // a module of one empty custom section: 8 header bytes + id + size + name length + name
  const one = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 0, 2, 1, 120]);
  assert.deepEqual(wasmSections(one).map((x) => x.name), ['custom "x"']);
});
