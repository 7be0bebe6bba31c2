// The minified builds the package ships (dist/disco.min.js: the browser entry, dist/disco-edge.min.js:
// the edge entry), and the one set of esbuild options that makes them: `npm run build:js` (also
// run by npm pack), tests/sdk/size.test.mjs (the 64 KB gate) and tests/sdk/browser.test.mjs use it.
//
// mangleProps shortens the SDK's internal `_`-prefixed members (-180 B gzip for the browser entry);
// reserved: `_initialize` (an export of disco.wasm) and `_n` (set with Object.defineProperty by
// name, transport.js). Everything public is unprefixed, so no caller sees a mangled name.
// esbuild bundles and minifies; terser then compresses its output once more with its safe defaults
// (two passes, no `unsafe*` options): -327 B gzip for the edge entry, -261 B for the browser entry
// (2026-12-03, esbuild 0.24.0 + terser 5.51.2).
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const HERE = dirname(fileURLToPath(import.meta.url));

/** esbuild options for one entry (absolute path or relative to sdk-js/). */
export function esbuildOptions(entry) {
  return {
    entryPoints: [resolve(HERE, entry)], bundle: true, format: 'esm', minify: true, target: 'es2020',
    mangleProps: /^_/, reserveProps: /^(_initialize|_n)$/, logLevel: 'silent',
  };
}

export const BUILDS = { 'dist/disco.min.js': 'src/index.js', 'dist/disco-edge.min.js': 'src/edge.js' };

/** terser options for the second pass over esbuild's output (ES module, ES2020, safe compress). */
export const TERSER_OPTIONS = { module: true, ecma: 2020, compress: { passes: 2 }, mangle: true, format: { comments: false } };

const devDependency = (name, path) => import(join(HERE, 'node_modules', path)).catch((e) => {
  throw new Error(`${name} (a devDependency of sdk-js) is missing: run npm ci in sdk-js (${e.message})`);
});

/** The minified bytes of one entry (nothing written). */
export async function minified(entry, { logLevel } = {}) {
  const esbuild = await devDependency('esbuild', 'esbuild/lib/main.js');
  const { minify } = await devDependency('terser', 'terser/main.js');
  const r = await esbuild.build({ ...esbuildOptions(entry), write: false, ...(logLevel ? { logLevel } : {}) });
  const t = await minify(r.outputFiles[0].text, TERSER_OPTIONS);
  return new TextEncoder().encode(t.code);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(HERE, 'dist'), { recursive: true });
  for (const [out, entry] of Object.entries(BUILDS)) {
    writeFileSync(join(HERE, out), await minified(entry, { logLevel: 'warning' }));
  }
}
