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
  const files = packed.files.map((f) => f.path).sort();
  // exactly what a user gets: the sources, their types, both wasm builds, the minified builds
  // (npm pack runs prepack = build:js), the docs and the licence; nothing else
  const src = readdirSync(join(ROOT, 'sdk-js/src')).map((f) => `src/${f}`);
  const types = readdirSync(join(ROOT, 'sdk-js/types')).map((f) => `types/${f}`);
  const expected = [...src, ...types, 'dist/disco.wasm', 'dist/disco-simd.wasm', 'dist/disco.min.js', 'dist/disco-edge.min.js',
    'README.md', 'CHANGELOG.md', 'LICENSE.md', 'package.json'].sort();
  assert.deepEqual(files, expected, 'tarball contents');
  // size gate on what the package ships (tarball and unpacked), and the browser budget inside it
  console.log(`npm pack: ${packed.filename} ${(packed.size / 1024).toFixed(1)} KB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KB unpacked, ${files.length} files`);
  assert.ok(packed.size <= 200 * 1024, `tarball ${packed.size} B > 200 KB`);
  assert.ok(packed.unpackedSize <= 520 * 1024, `unpacked ${packed.unpackedSize} B > 520 KB`);
  const { gzipSync } = await import('node:zlib');
  const { readFileSync } = await import('node:fs');
  const tgz = join(dir, 'x');
  execFileSync('mkdir', ['-p', tgz]);
  execFileSync('tar', ['xzf', join(dir, packed.filename), '-C', tgz]);
  const gz = (f) => gzipSync(readFileSync(join(tgz, 'package', f)), { level: 9 }).length;
  for (const js of ['dist/disco.min.js', 'dist/disco-edge.min.js']) {
    assert.ok(gz('dist/disco-simd.wasm') + gz(js) <= 64 * 1024, `${js} + disco-simd.wasm shipped > 64 KB gzip`);
  }
  const pkgJson = JSON.parse(readFileSync(join(tgz, 'package/package.json'), 'utf8'));
  assert.equal(pkgJson.license, 'SEE LICENSE IN LICENSE.md');
  assert.match(readFileSync(join(tgz, 'package/LICENSE.md'), 'utf8'), /^# Licence/);
  assert.match(readFileSync(join(tgz, 'package/CHANGELOG.md'), 'utf8'), new RegExp(`## ${pkgJson.version.replace(/\./g, '\\.')}`));
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
