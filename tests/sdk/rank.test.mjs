// shopper.rank(itemIds): a list the page already has, ordered by the scores and filters of
// recommend, on the real wasm (plain and SIMD128, int8 and int4 tables). (The edge has no /rank
// route: it did not fit the package's 64 KB gzip gate.)
import test from 'node:test';
import assert from 'node:assert/strict';
import { Disco } from '../../sdk-js/src/node.js';
import { makeBundle, testKey, wasmBytes, throwsCode } from './helpers.mjs';

const T0 = 1_700_000_000_000;
const { spki } = testKey();
const N = 300;

// recommend over the whole catalog, restricted to `ids` (each once): what rank must answer.
function restricted(d, ids, o) {
  const set = new Set(ids);
  return d.recommend({ k: N, ...o }).filter((r) => set.has(r.itemId));
}

for (const int4 of [false, true]) {
  test(`rank: recommend's order and scores restricted to the candidates, with its filters (${int4 ? 'int4' : 'int8'} table)`, async () => {
    const bundle = makeBundle({ int4 });
    const w = wasmBytes();
    for (const wasm of [{ simd: w.simd }, { plain: w.plain }]) {
      const d = await Disco.create({ wasm, bundle, publicKey: spki, seed: 7, userKeySalt: 'test-site-user-salt-0123', userId: 'shopper-r', now: () => T0 });
      const simd = d.info.simd;
      for (const [i, type] of [[3, 'view'], [8, 'cart'], [41, 'click']]) d.track({ type, itemId: `item-${i}`, ts: T0 + i });
      const cand = [];
      for (let i = 0; i < 80; i++) cand.push(`item-${(i * 37 + 3) % N}`);
      cand.push('item-8', cand[5]); // a seen item and a duplicate
      for (const o of [{}, { excludeSeen: false, includeOutOfStock: true }, { category: 2 }, { exclude: [cand[0], cand[1], 'no-such'] }]) {
        const want = restricted(d, cand, o);
        const got = d.rank(cand, o);
        assert.deepEqual(got, want, `${JSON.stringify(o)} simd ${simd}`);
        assert.ok(got.length > 0);
      }
      assert.ok(!d.rank(cand).some((r) => r.itemId === 'item-8'), 'seen items are dropped by default');
      assert.ok(d.rank(cand, { excludeSeen: false }).some((r) => r.itemId === 'item-8'));
      // ids the bundle does not know follow in input order (each once), score null
      const mixed = d.rank(['new-b', 'item-10', 'new-a', 'item-11', 'new-b']);
      assert.deepEqual(mixed.slice(2), [{ itemId: 'new-b', score: null }, { itemId: 'new-a', score: null }]);
      assert.deepEqual(mixed.slice(0, 2), restricted(d, ['item-10', 'item-11']));
      assert.deepEqual(d.rank([]), []);
      throwsCode(assert, () => d.rank('item-1'), 'INVALID_ARGUMENT');
      throwsCode(assert, () => d.rank(['item-1'], { exclude: 'item-1' }), 'INVALID_ARGUMENT');
      throwsCode(assert, () => d.rank(['item-1'], { category: 'x' }), 'INVALID_ARGUMENT');
      d.close();
      throwsCode(assert, () => d.rank(['item-1']), 'STATE');
    }
  });
}
