#!/usr/bin/env node
// Assembles the storefront's static folder for the collector to serve:
//   SITE/index.html, style.css, app.js, art.js, favicon.svg   (demo/storefront)
//   SITE/sdk/*.js, disco.wasm, disco-simd.wasm                 (sdk-js/src, sdk-js/dist)
//   SITE/catalog.json                                          (DATA/items.csv + events.csv)
//   SITE/config.json                                           (keys, endpoints, bundle facts)
// usage: node demo/build-site.mjs --data DIR --site DIR --bundle FILE --public-key FILE
//          --api-key KEY --secret SECRET [--bundle-label TEXT]
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCatalog } from './catalog.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

function args(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || i + 1 >= argv.length) throw new Error(`build-site: bad argument ${a} (expected --key value)`);
    o[a.slice(2)] = argv[++i];
  }
  for (const k of ['data', 'site', 'bundle', 'public-key', 'api-key', 'secret']) {
    if (!o[k]) throw new Error(`build-site: --${k} is required`);
  }
  return o;
}

/** SPKI DER (binary .der, or PEM text) -> base64 for the browser. */
export function publicKeyBase64(path) {
  const raw = readFileSync(path);
  const text = raw.toString('latin1');
  if (text.includes('-----BEGIN PUBLIC KEY-----')) {
    return text.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  }
  return raw.toString('base64');
}

export async function buildSite(o) {
  const site = resolve(o.site);
  const wasmDir = join(root, 'sdk-js/dist');
  for (const f of ['disco.wasm', 'disco-simd.wasm']) {
    if (!existsSync(join(wasmDir, f))) throw new Error(`build-site: ${join(wasmDir, f)} is missing: build it with bash wasm/build.sh`);
  }
  rmSync(site, { recursive: true, force: true });
  mkdirSync(join(site, 'sdk'), { recursive: true });
  cpSync(join(here, 'storefront'), site, { recursive: true });
  for (const f of readdirSync(join(root, 'sdk-js/src'))) if (f.endsWith('.js')) cpSync(join(root, 'sdk-js/src', f), join(site, 'sdk', f));
  for (const f of ['disco.wasm', 'disco-simd.wasm']) cpSync(join(wasmDir, f), join(site, 'sdk', f));
  const catalog = await buildCatalog(o.data);
  writeFileSync(join(site, 'catalog.json'), JSON.stringify({ source: resolve(o.data), categories: catalog.categories, items: catalog.items }));
  const bundle = readFileSync(o.bundle);
  const config = {
    bundleUrl: '/v1/bundle', collectorUrl: '/v1/events', checkoutUrl: '/v1/checkout',
    apiKey: o['api-key'],
    // The page signs its batches with the site secret, and (demo only) its offer tokens too: see
    // demo/README.md, "Trust". A production site signs offers where shoppers cannot read the key.
    siteSecret: o.secret,
    demoTokenSecret: o.secret,
    publicKey: publicKeyBase64(o['public-key']),
    bundleEtag: createHash('sha256').update(bundle).digest('hex').slice(0, 32),
    bundleLabel: o['bundle-label'] ?? 'trained on the simulator',
  };
  writeFileSync(join(site, 'config.json'), JSON.stringify(config, null, 2));
  return { site, items: catalog.items.length, skipped: catalog.skipped };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const r = await buildSite(args(process.argv.slice(2)));
    console.log(`storefront: ${r.site} (${r.items} products; skipped ${r.skipped.malformed} malformed and ${r.skipped.duplicate} duplicate catalog rows)`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
