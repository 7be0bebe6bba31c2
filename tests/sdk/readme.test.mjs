// sdk-js/README.md's quickstart, run as a newcomer would: a blank folder, the packed tarball, the
// project's own tools (disco-sim, disco-train keygen/train), the real collector on loopback, the
// README's app.mjs; then the decision and its outcome must be in the collector's export. Then its
// TypeScript (and per-entry consumers) type-check against the installed package under --strict
// with node16, nodenext and bundler resolution.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, wasmBytes, findBuilt } from './helpers.mjs';
import { quickstart, quickstartBlocks, stop } from './readme-blocks.mjs';
import { csvObjects } from '../../lib/csv.mjs';

test('readme: the quickstart blocks are where the test expects them', () => {
  const b = quickstartBlocks();
  const tags = b.map((x) => `${x.lang}${x.tag ? ' ' + x.tag : ''}`);
  for (const t of ['sh collector', 'js app.mjs', 'sh run', 'js worker.js', 'capnp config.capnp', 'sh edge-serve', 'ts']) {
    assert.ok(tags.includes(t), `README quickstart lacks a \`\`\`${t} block (has: ${tags.join(', ')})`);
  }
  const text = readFileSync(join(ROOT, 'sdk-js/README.md'), 'utf8');
  assert.doesNotMatch(text, /\/v1\/batch|sku-\d|--sign-key/, 'stale URL, item ids or flag');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'sdk-js/package.json'), 'utf8'));
  assert.ok(text.includes(`disco-sdk-${pkg.version}.tgz`), 'the README installs the tarball of this version');
});

test('readme: the Node quickstart runs start to finish against the real collector', { timeout: 600_000 }, async (t) => {
  wasmBytes();
  for (const tool of ['trainer/sim/disco-sim', 'trainer/model/disco-train', 'collector/disco-collector']) {
    assert.ok(findBuilt(tool), `build/release/${tool} missing: run scripts/setup.sh`);
  }
  const q = await quickstart();
  const t0 = Date.now();
  const setup = q.blocks.filter((b) => b.lang === 'sh' && !b.tag).map((b) => b.code).join('\n');
  await q.bash(setup);
  const tSetup = Date.now() - t0;
  const collectorBlock = q.blocks.find((b) => b.tag === 'collector');
  const { child } = await q.background(collectorBlock.code, q.shop, /listening on/, 'collector');
  t.after(() => stop(child));
  for (const b of q.blocks.filter((x) => x.lang === 'js' && x.tag === 'app.mjs')) q.write(b);
  const runs = q.blocks.filter((b) => b.tag === 'run');
  const appOut = await q.bash(runs[0].code, q.shop, 60_000);
  const tFirst = Date.now() - t0;
  const recs = appOut.match(/^recommended: (.+)$/m);
  assert.ok(recs && recs[1].split(' ').length === 5, appOut);
  const offer = appOut.match(/^offer ([0-9a-f]{32}): /m);
  assert.ok(offer, appOut);
  assert.match(appOut, /^collector: 5 records delivered$/m);
  // the README's canonical export: the decision (under the shopper's own id) and its outcome
  await q.bash(runs[1].code, q.shop, 60_000);
  const csv = (f) => csvObjects(readFileSync(join(q.shop, 'log', f), 'utf8'), f);
  const dec = csv('decisions.csv').find((r) => r.decision_id === offer[1]);
  assert.ok(dec, `decision ${offer[1]} not in log/decisions.csv`);
  assert.equal(dec.user_id, 'shopper-42', 'the export names the store\'s shopper (userId)');
  assert.equal(dec.item_id, 'i7');
  assert.equal(dec.shown, '1');
  const out = csv('outcomes.csv').find((r) => r.decision_id === offer[1]);
  assert.ok(out, 'the outcome is in log/outcomes.csv');
  assert.equal(out.converted, '1');
  assert.equal(Number(out.margin), 2.1);
  const events = csv('events.csv');
  assert.deepEqual(events.map((e) => [e.user_id, e.type, e.item_id]), [['shopper-42', 'view', 'i12'], ['shopper-42', 'cart', 'i7']]);
  assert.equal(events[1].price, '9.99');
  assert.ok(Number(events[0].price) > 0, 'the view got its catalog price from --bundle');
  assert.equal(csv('items.csv').length, 1000, 'the catalog of the bundle');
  console.log(`quickstart: setup (pack, install, simulate, keygen, train) ${(tSetup / 1000).toFixed(1)} s, first offer ${(tFirst / 1000).toFixed(1)} s after start`);
});

test('readme: its TypeScript and a consumer per entry type-check under tsc --strict (node16, nodenext, bundler)', { timeout: 300_000 }, async () => {
  // against the package as installed by the quickstart's step 1 (the packed tarball, ESM project)
  wasmBytes();
  const tsc = join(ROOT, 'sdk-js/node_modules/typescript/bin/tsc');
  assert.ok(existsSync(tsc), 'sdk-js/node_modules/typescript missing: run npm ci in sdk-js (scripts/setup.sh)');
  const q = await quickstart();
  const install = q.blocks.find((b) => b.lang === 'sh' && !b.tag);
  assert.match(install.code, /npm install .*disco-sdk-/, 'the first quickstart block installs the tarball');
  await q.bash(install.code);
  const ts = q.blocks.filter((b) => b.lang === 'ts').map((b) => b.code).join('\n');
  const files = {
    'readme.mts': ts,
    'node-root.mts': `import { Disco, loadBundleFile, fileStorage, verifyOfferToken } from '@disco/sdk';
      const d = await Disco.create({ bundle: await loadBundleFile('b'), collector: { url: 'u', key: 'k', storage: fileStorage('q.json') } });
      const o = await d.offer('i1'); await verifyOfferToken(o.token, 'secret-0123456789abcdef');
      const r = await d.flush(); const n: number = r.dropped + r.queued; export { n };`,
    'node-sub.mts': `import { Disco, loadBundleFile, fileStorage } from '@disco/sdk/node';
      const d = await Disco.create({ bundle: await loadBundleFile('b'), holdout: { share: 0.1, arm: 0 }, collector: { url: undefined, key: 'k', storage: fileStorage('q') } });
      const h: boolean = d.info.holdout; export { h };`,
    'browser.mts': `import { Disco, type Offer } from '@disco/sdk';
      const d = await Disco.create({ wasm: { simd: '/disco-simd.wasm' }, bundle: fetch('/v1/bundle'), publicKey: 'pem', storage: localStorage, collector: { url: '/v1/events', key: 'k', quiet: true } });
      const o: Offer = d.offerSync('i1'); export { o };`,
    'edge.mts': `import { createEdgeHandler } from '@disco/sdk/edge';
      import { verifyOfferToken } from '@disco/sdk/token';
      declare const wasm: WebAssembly.Module;
      const h = createEdgeHandler({ wasm, bundle: (env) => env.BUNDLE, tokenSecret: (env) => env.S, holdout: { share: 0.05 }, collector: (env) => ({ url: env.URL, key: env.KEY }) });
      export default { fetch: (r: Request, env: unknown) => h.fetch(r, env) }; export { verifyOfferToken };`,
  };
  for (const [name, code] of Object.entries(files)) writeFileSync(join(q.shop, name), code);
  const bundlerSafe = ['readme.mts', 'node-sub.mts', 'browser.mts', 'edge.mts'];
  for (const [res, mod, list] of [['node16', 'node16', Object.keys(files)], ['nodenext', 'nodenext', Object.keys(files)], ['bundler', 'esnext', bundlerSafe]]) {
    const args = [tsc, '--noEmit', '--strict', '--lib', 'es2022,dom', '--target', 'es2022', '--module', mod, '--moduleResolution', res, ...list];
    try {
      execFileSync(process.execPath, args, { cwd: q.shop, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc --moduleResolution ${res}: ${e.stdout}${e.stderr}`);
    }
  }
  // and the negative: under bundler resolution the root entry is the browser one (no Node helpers)
  let out = '';
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--lib', 'es2022,dom', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', 'node-root.mts'], { cwd: q.shop, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) { out = `${e.stdout}${e.stderr}`; }
  assert.match(out, /has no exported member 'loadBundleFile'/);
});
