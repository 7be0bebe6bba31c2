// Session state bytes: disco.wasm (both builds) writes exactly the bytes the native runtime wrote
// into tests/runtime/fixtures (format 2 full, format 3 compact), and restores every format
// version's fixture (1, 2, 3) to the same recommendations.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, BundleRef, RuntimeRef } from '../../sdk-js/src/engine.js';
import { ROOT, wasmBytes } from './helpers.mjs';

const FIX = join(ROOT, 'tests/runtime/fixtures');
const bundle = new Uint8Array(readFileSync(join(FIX, 'bundle_schema1.0.disco')));
const fixture = (v) => new Uint8Array(readFileSync(join(FIX, `session_state${v}.bin`)));

for (const build of ['simd', 'plain']) {
  test(`state (${build}): native = wasm session state bytes, every format version restores`, async () => {
    const engine = await Engine.load(wasmBytes()[build]);
    const b = new BundleRef(engine, bundle);
    const rt = new RuntimeRef(engine, b, { seed: 5n });
    // tests/runtime/fixture_test.cpp's drive()
    const s = rt.createSession(9n);
    for (let i = 0; i < 6; i++) s.observe((i * 7) % 40, i % 5, 1700000000000 + i * 7000, 0, 1);
    assert.deepEqual(s.save(), fixture(2), 'format 2 (full) bytes');
    assert.deepEqual(s.saveCompact(), fixture(3), 'format 3 (compact) bytes');
    const want = s.recommend(5);
    for (const v of [1, 2, 3]) {
      const r = rt.restoreSession(fixture(v));
      assert.deepEqual(r.recommend(5), want, `format ${v} restores to the same top 5`);
      assert.equal(r.purchaseProbability(), s.purchaseProbability());
      r.free();
    }
    assert.deepEqual(Array.from(want.items), [25, 31, 22, 18, 1], 'the numbers fixture_test.cpp recorded');
    assert.ok(rt.compactStateMaxBytes() >= fixture(3).length);
    s.free(); rt.free(); b.free();
  });
}
