// The minified builds the package ships (dist/disco.min.js: the browser entry, dist/disco-edge.min.js:
// the edge entry), and the one set of esbuild options that makes them: `npm run build:js` (also
// run by npm pack), tests/sdk/size.test.mjs (the 64 KB gate) and tests/sdk/browser.test.mjs use it.
//
// mangleProps shortens the SDK's internal `_`-prefixed members (-180 B gzip for the browser entry);
// reserved: `_initialize` (an export of disco.wasm) and `_n` (set with Object.defineProperty by
// name, transport.js). Everything public is unprefixed, so no caller sees a mangled name.
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

/** The minified bytes of one entry (nothing written). */
export async function minified(entry) {
  const esbuild = await import(join(HERE, 'node_modules/esbuild/lib/main.js')).catch((e) => {
    throw new Error(`esbuild (a devDependency of sdk-js) is missing: run npm ci in sdk-js (${e.message})`);
  });
  const r = await esbuild.build({ ...esbuildOptions(entry), write: false });
  return r.outputFiles[0].contents;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const esbuild = await import(join(HERE, 'node_modules/esbuild/lib/main.js'));
  for (const [out, entry] of Object.entries(BUILDS)) {
    await esbuild.build({ ...esbuildOptions(entry), outfile: join(HERE, out), logLevel: 'warning' });
  }
}
