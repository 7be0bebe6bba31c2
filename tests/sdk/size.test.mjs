// Size budget: disco.wasm + the JS a browser loads (minified by esbuild, as shipped in
// dist/disco.min.js) must stay <= 64 KB gzip together, for each of the two builds.
import test from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { wasmBytes } from './helpers.mjs';
import { minified } from '../../sdk-js/build.mjs';

const BUDGET = 64 * 1024;

// exactly the shipped build: sdk-js/build.mjs's options (npm run build:js, npm pack)
const minifiedBrowserJs = () => minified('src/index.js');

test('size: disco.wasm + JS glue <= 64 KB gzip (SIMD and plain builds)', async () => {
  const { simd, plain } = wasmBytes();
  const js = await minifiedBrowserJs();
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const jsGz = gz(js);
  const rows = [['disco-simd.wasm', gz(simd)], ['disco.wasm', gz(plain)], ['disco.min.js', jsGz]];
  console.log(rows.map(([n, s]) => `${n}: ${(s / 1024).toFixed(1)} KB gzip`).join(', '));
  for (const [name, size] of rows.slice(0, 2)) {
    assert.ok(size + jsGz <= BUDGET, `${name} (${size} B gzip) + disco.min.js (${jsGz} B gzip) = ${size + jsGz} B > ${BUDGET} B`);
  }
  // the JS must not silently include Node-only modules
  assert.doesNotMatch(new TextDecoder().decode(js), /node:fs|node:crypto/);
});
