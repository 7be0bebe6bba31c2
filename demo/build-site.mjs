#!/usr/bin/env node
// Assembles the storefront's static folder for the collector to serve:
//   SITE/index.html, favicon.svg, config.json (keys, endpoints, bundle facts)  -- revalidated
//   SITE/a-<hash>/app.js, disco.js, art.js, style.css            (demo/storefront)
//   SITE/a-<hash>/sdk/*.js, disco.wasm, disco-simd.wasm          (sdk-js/src, sdk-js/dist)
//   SITE/a-<hash>/catalog.json                                   (DATA/items.csv + events.csv)
// The collector caches everything but HTML for an hour: assets live under a folder named by the
// hash of their contents, so a rebuilt wasm, SDK or catalog is never mixed with a cached one.
// usage: node demo/build-site.mjs --data DIR --site DIR --bundle FILE --public-key FILE
//          --api-key KEY [--bundle-label TEXT] [--shipping-fee X --free-shipping-over Y]
// config.json holds nothing secret: it is read by every visitor (offers are signed by the edge).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, parseCli, usageError } from '../lib/cli.mjs';
import { buildCatalog } from './catalog.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const USAGE = `usage: node demo/build-site.mjs --data DIR --site DIR --bundle FILE --public-key FILE
         --api-key KEY [--bundle-label TEXT] [--shipping-fee X --free-shipping-over Y]`;
const REQUIRED = ['data', 'site', 'bundle', 'public-key', 'api-key'];

function args(argv) {
  const options = Object.fromEntries([...REQUIRED, 'bundle-label', 'shipping-fee', 'free-shipping-over'].map((k) => [k, { type: 'string' }]));
  const { values } = parseCli({ name: 'build-site', usage: USAGE, options, argv });
  for (const k of REQUIRED) if (!values[k]) usageError('build-site', USAGE, `--${k} is required`);
  return values;
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
  const catalog = await buildCatalog(o.data);
  const files = new Map(); // path under the asset folder -> bytes
  for (const f of ['app.js', 'disco.js', 'art.js', 'style.css']) files.set(f, readFileSync(join(here, 'storefront', f)));
  for (const f of readdirSync(join(root, 'sdk-js/src')).sort()) if (f.endsWith('.js')) files.set(`sdk/${f}`, readFileSync(join(root, 'sdk-js/src', f)));
  for (const f of ['disco.wasm', 'disco-simd.wasm']) files.set(`sdk/${f}`, readFileSync(join(wasmDir, f)));
  files.set('catalog.json', Buffer.from(JSON.stringify({ categories: catalog.categories, items: catalog.items })));
  const h = createHash('sha256');
  for (const [p, b] of files) h.update(p).update('\0').update(b);
  const assets = `a-${h.digest('hex').slice(0, 12)}`;
  rmSync(site, { recursive: true, force: true });
  mkdirSync(join(site, assets, 'sdk'), { recursive: true });
  for (const [p, b] of files) writeFileSync(join(site, assets, p), b);
  cpSync(join(here, 'storefront/favicon.svg'), join(site, 'favicon.svg'));
  const html = readFileSync(join(here, 'storefront/index.html'), 'utf8')
    .replace('href="style.css"', `href="${assets}/style.css"`).replace('src="app.js"', `src="${assets}/app.js"`);
  if (!html.includes(`${assets}/app.js`) || !html.includes(`${assets}/style.css`)) throw new Error('build-site: index.html no longer references style.css and app.js');
  writeFileSync(join(site, 'index.html'), html);
  const bundle = readFileSync(o.bundle);
  const config = {
    bundleUrl: '/v1/bundle', checkoutUrl: '/v1/checkout', assets: `${assets}/`,
    // the edge worker in front of the shop (demo/edge/worker.js): it decides offers and signs them
    edge: { offer: '/offer', offerCart: '/offer-cart', shown: '/shown', report: '/report' },
    // the checkout's shipping line (the collector's shipping_fee / free_shipping_over): for the cart
    // page's estimate; the checkout's answer is what is charged
    shipping: { fee: Number(o['shipping-fee'] ?? 0), freeOver: Number(o['free-shipping-over'] ?? 0) },
    // public: the site's API key id (the checkout's x-disco-key) and the tab's user-key salt (not
    // secret-grade: sdk-js/README.md, "User keys"). No secret: demo/README.md, "Trust".
    apiKey: o['api-key'],
    userKeySalt: `disco-demo-user-salt-${o['api-key']}`,
    publicKey: publicKeyBase64(o['public-key']),
    bundleEtag: createHash('sha256').update(bundle).digest('hex').slice(0, 32),
    bundleLabel: o['bundle-label'] ?? 'trained on the simulator',
  };
  writeFileSync(join(site, 'config.json'), JSON.stringify(config, null, 2));
  return { site, assets, items: catalog.items.length, skipped: catalog.skipped };
}

if (isMain(import.meta.url)) {
  try {
    const r = await buildSite(args());
    console.log(`storefront: ${r.site} (assets ${r.assets}/, ${r.items} products; skipped ${r.skipped.malformed} malformed and ${r.skipped.duplicate} duplicate catalog rows)`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
