// The package as a storefront author gets it: `npm pack`, install the tarball into an empty
// project (offline: no dependencies), run the README's Node example against the packaged wasm.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, makeBundle, testKey, wasmBytes } from './helpers.mjs';

test('package: npm pack + install + the README example runs from the tarball', { timeout: 180_000 }, async () => {
  wasmBytes(); // fails clearly when wasm/build.sh has not run
  const dir = mkdtempSync(join(tmpdir(), 'disco-pkg-'));
  const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], join(ROOT, 'sdk-js')))[0];
  const files = packed.files.map((f) => f.path);
  for (const f of ['dist/disco.wasm', 'dist/disco-simd.wasm', 'src/index.js', 'src/node.js', 'src/edge.js', 'types/index.d.ts', 'README.md', 'package.json']) {
    assert.ok(files.includes(f), `tarball lacks ${f}`);
  }
  assert.ok(!files.some((f) => f.startsWith('node_modules/') || f.endsWith('.test.mjs')), 'no dev files shipped');
  const app = join(dir, 'shop');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'shop', version: '1.0.0', type: 'module', private: true }));
  npm(['install', '--no-audit', '--no-fund', '--offline', join(dir, packed.filename)], app);
  writeFileSync(join(app, 'bundle.disco'), makeBundle());
  writeFileSync(join(app, 'bundle.pub.pem'), testKey().pemPublic);
  writeFileSync(join(app, 'shop.mjs'), `
    import { readFileSync } from 'node:fs';
    import { Disco, loadBundleFile, verifyOfferToken } from '@disco/sdk';
    import { createEdgeHandler } from '@disco/sdk/edge';
    const secret = 'token-secret-0123456789';
    const d = await Disco.create({ bundle: await loadBundleFile('bundle.disco'),
      publicKey: readFileSync('bundle.pub.pem', 'utf8'), userId: 'shopper-42', seed: 1, tokenSecret: secret });
    d.track({ type: 'view', itemId: 'item-1' }); d.track({ type: 'cart', itemId: 'item-9', price: 19.9 });
    const recs = d.recommend({ k: 10, exclude: ['item-3'] });
    const offer = await d.offer('item-9');
    d.shown(offer.decisionId);
    const rep = d.report(offer.decisionId, { converted: true, revenue: 17.91, margin: 5.2 });
    const claims = await verifyOfferToken(offer.token, secret);
    console.log(JSON.stringify({ n: recs.length, simd: d.info.simd, applied: rep.applied, ok: claims.decisionId === offer.decisionId, edge: typeof createEdgeHandler }));`);
  const out = JSON.parse(execFileSync(process.execPath, ['shop.mjs'], { cwd: app, encoding: 'utf8' }).trim());
  assert.deepEqual(out, { n: 10, simd: true, applied: true, ok: true, edge: 'function' });
});
