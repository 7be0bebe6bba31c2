// The package as a storefront author gets it: `npm pack`, install the tarball into an empty
// project (offline: no dependencies), run a Node example against the packaged wasm. Each check is
// its own test (contents, licence and changelog, size gate, install), so one failing leaves the
// others reporting.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, makeBundle, testKey, wasmBytes } from './helpers.mjs';

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let packedOnce = null;
/** `npm pack` once per run (prepack builds the minified files), unpacked: { dir, packed, files, pkgDir }. */
function pack() {
  if (packedOnce) return packedOnce;
  wasmBytes(); // fails clearly when wasm/build.sh has not run
  const dir = mkdtempSync(join(tmpdir(), 'disco-pkg-'));
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], join(ROOT, 'sdk-js')))[0];
  const files = packed.files.map((f) => f.path).sort();
  mkdirSync(join(dir, 'x'));
  execFileSync('tar', ['xzf', join(dir, packed.filename), '-C', join(dir, 'x')]);
  console.log(`npm pack: ${packed.filename} ${(packed.size / 1024).toFixed(1)} KB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KB unpacked, ${files.length} files`);
  packedOnce = { dir, packed, files, pkgDir: join(dir, 'x', 'package') };
  return packedOnce;
}

test('package: the tarball holds exactly the sources, types, both wasm builds, the minified builds and the docs', { timeout: 120_000 }, () => {
  const { files } = pack();
  const src = readdirSync(join(ROOT, 'sdk-js/src')).map((f) => `src/${f}`);
  const types = readdirSync(join(ROOT, 'sdk-js/types')).map((f) => `types/${f}`);
  const expected = [...src, ...types, 'dist/disco.wasm', 'dist/disco-simd.wasm', 'dist/disco.min.js', 'dist/disco-edge.min.js',
    'README.md', 'CHANGELOG.md', 'LICENSE.md', 'package.json'].sort();
  assert.deepEqual(files, expected, 'tarball contents');
});

test('package: licence field and file, changelog entry of this version', { timeout: 120_000 }, () => {
  const { pkgDir } = pack();
  const pkgJson = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  assert.equal(pkgJson.license, 'SEE LICENSE IN LICENSE.md');
  assert.match(readFileSync(join(pkgDir, 'LICENSE.md'), 'utf8'), /^# Licence of @disco\/sdk\n\nProprietary\./);
  assert.match(readFileSync(join(pkgDir, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${pkgJson.version.replace(/\./g, '\\.')}\\b`, 'm'));
});

test('package: size gate on what ships (tarball, unpacked, disco-simd.wasm + each minified build <= 64 KB gzip)', { timeout: 120_000 }, () => {
  const { packed, pkgDir } = pack();
  assert.ok(packed.size <= 200 * 1024, `tarball ${packed.size} B > 200 KB`);
  assert.ok(packed.unpackedSize <= 520 * 1024, `unpacked ${packed.unpackedSize} B > 520 KB`);
  const gz = (f) => gzipSync(readFileSync(join(pkgDir, f)), { level: 9 }).length;
  const wasm = gz('dist/disco-simd.wasm');
  const rows = ['dist/disco.min.js', 'dist/disco-edge.min.js'].map((js) => [js, gz(js)]);
  console.log(`shipped, gzip: disco-simd.wasm ${wasm} B, ${rows.map(([js, n]) => `${js} ${n} B`).join(', ')}`);
  for (const [js, n] of rows) {
    assert.ok(wasm + n <= 64 * 1024, `${js} (${n} B gzip) + disco-simd.wasm (${wasm} B gzip) shipped = ${wasm + n} B > 65536 B`);
  }
});

test('package: installs offline into an empty project; a Node example runs from the tarball', { timeout: 180_000 }, () => {
  const { dir, packed } = pack();
  const app = join(dir, 'shop');
  mkdirSync(app);
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
      publicKey: readFileSync('bundle.pub.pem', 'utf8'), userKeySalt: 'test-site-user-salt-0123', userId: 'shopper-42', seed: 1, tokenSecret: secret });
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
