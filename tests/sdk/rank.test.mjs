// shopper.rank(itemIds) and the edge's POST /rank: a list the page already has, ordered by the
// scores and filters of recommend (disco_rank), on the real wasm (plain and SIMD128, int8 and int4).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Disco } from '../../sdk-js/src/node.js';
import { createEdgeHandler } from '../../sdk-js/src/edge.js';
import { crypto, makeBundle, testKey, wasmBytes, throwsCode } from './helpers.mjs';

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

test('edge: POST /rank orders the page\'s list as /recommend would; bad input gets 400', async () => {
  const bundle = makeBundle();
  const h = createEdgeHandler({ wasm: wasmBytes(), bundle, publicKey: spki, tokenSecret: 'edge-token-secret-0123456789', seed: 5, crypto, now: () => T0 });
  const post = (path, body, cookie) => new Request(`https://shop.example${path}`, {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
  });
  let res = await h.fetch(post('/api/track', { events: [{ type: 'view', itemId: 'item-3' }] }));
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const recRes = await (await h.fetch(post('/api/recommend', { k: 100 }, cookie))).json();
  const all = recRes.items;
  assert.ok(all, JSON.stringify(recRes));
  const cand = all.slice(0, 60).map((r) => r.itemId).reverse().concat(['item-3', 'unknown-1']);
  res = await h.fetch(post('/api/rank', { itemIds: cand, exclude: [cand[0]] }, cookie));
  assert.equal(res.status, 200);
  const { items } = await res.json();
  const want = all.slice(0, 60).filter((r) => r.itemId !== cand[0]);
  assert.deepEqual(items, [...want, { itemId: 'unknown-1', score: null }]);
  for (const body of [{}, { itemIds: 'item-1' }, { itemIds: ['item-1'], exclude: 'item-2' }]) {
    res = await h.fetch(post('/rank', body));
    assert.equal(res.status, 400, JSON.stringify(body));
    const err = (await res.json()).error;
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, /itemIds and exclude must be arrays/);
  }
  res = await h.fetch(new Request('https://shop.example/rank'));
  assert.equal(res.status, 405);
});
