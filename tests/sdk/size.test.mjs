// Size budget: disco.wasm + the JS a browser loads (minified by esbuild, as shipped in
// dist/disco.min.js) must stay <= 64 KB gzip together, for each of the two builds.
import test from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, wasmBytes } from './helpers.mjs';

const BUDGET = 64 * 1024;

async function minifiedBrowserJs() {
  let esbuild;
  try {
    esbuild = await import(join(ROOT, 'sdk-js/node_modules/esbuild/lib/main.js'));
  } catch (e) {
    throw new Error(`esbuild (a devDependency of sdk-js) is missing: run npm ci in sdk-js (${e.message})`);
  }
  const r = await esbuild.build({
    entryPoints: [join(ROOT, 'sdk-js/src/index.js')], bundle: true, format: 'esm', minify: true,
    target: 'es2020', write: false, logLevel: 'silent',
  });
  return r.outputFiles[0].contents;
}

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
