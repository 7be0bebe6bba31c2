// Cart-level offers (issue 14): Disco.offerCart and the edge's POST /offer-cart over the real
// disco.wasm (disco_offer_cart) on a bundle with cart-scope arms (make_bundle.cpp --cart-arms:
// 5 = 10 % off over 50, 6 = 5 off category 3's lines over 30, 7 = free shipping over 20), and cart
// tokens: signed over the cart's terms and a digest of its lines, refused by verifyOfferToken when
// expired, tampered, for another cart, below the minimum spend or of the wrong scope.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Disco, verifyOfferToken, signOfferToken } from '../../sdk-js/src/node.js';
import { cartDigest } from '../../sdk-js/src/token.js';
import { createEdgeHandler } from '../../sdk-js/src/edge.js';
import { crypto, makeBundle, testKey, wasmBytes, rejectsCode } from './helpers.mjs';

const T0 = 1_700_000_000_000;
const SECRET = 'cart-token-secret-0123456789';
const wasm = wasmBytes();
const bundle = makeBundle({ cartArms: true });
const { spki } = testKey();
const open = (o = {}) => Disco.create({ wasm, bundle, publicKey: spki, seed: 3, userKey: 42n, tokenSecret: SECRET, crypto, ...o });
// the synthetic catalog (runtime/src/bundle_writer.cpp): item-i has category i % 10
const category = (id) => Number(id.slice(5)) % 10;

// The cart's value, and the eligible value of each cart arm, from the bundle's own prices.
function oracle(d, cart) {
  let value = 0, cat3 = 0;
  for (const { itemId, quantity = 1 } of cart) {
    const line = d.summary.price[d.bundle.index(itemId)] * quantity;
    value += line;
    if (category(itemId) === 3) cat3 += line;
  }
  return { value, eligible: { 0: value, 5: value, 6: cat3, 7: value } };
}

test('cart: offerCart offers only cart arms, each where its eligible value reaches its minimum spend, with exact terms', async () => {
  const d = await open();
  const small = [{ itemId: 'item-0' }]; // 5.00: under every minimum spend
  const big = [{ itemId: 'item-3', quantity: 2 }, { itemId: 'item-13' }, { itemId: 'item-7', quantity: 3 }];
  const { value: bigValue, eligible } = oracle(d, big);
  assert.ok(bigValue >= 50 && eligible[6] >= 30, `the big cart reaches every minimum (${bigValue}, category 3: ${eligible[6]})`);
  for (let i = 0; i < 20; i++) {
    const o = await d.offerCart(small, { now: T0 + i });
    assert.deepEqual([o.arm, o.amount, o.minSpend, o.discount, o.cartValue, o.eligibleValue, o.scope], [0, 0, 0, 0, 5, 5, 'cart']);
    assert.deepEqual(o.cart, [{ itemId: 'item-0', quantity: 1 }]);
    assert.equal(o.itemId, undefined);
  }
  const seen = new Set();
  const arms = d.summary.arms;
  for (let i = 0; i < 300; i++) {
    const o = await d.offerCart(big, { now: T0 + 1000 + i });
    seen.add(o.arm);
    assert.ok([0, 5, 6, 7].includes(o.arm), `cart decision offered item arm ${o.arm}`);
    const a = arms[o.arm];
    const e = eligible[o.arm];
    const amount = a.kind === 'percent' ? Math.fround(a.value) * e : a.kind === 'fixed' ? Math.min(a.value, e) : 0;
    assert.equal(o.cartValue, bigValue);
    assert.equal(o.eligibleValue, e);
    assert.equal(o.amount, amount, `arm ${o.arm} (${a.name})`);
    assert.equal(o.discount, Math.fround(amount / bigValue));
    assert.equal(o.minSpend, [0, 0, 0, 0, 0, 50, 30, 20][o.arm]);
    assert.equal(o.armName, a.name);
    assert.equal(o.kind, a.kind);
    assert.ok(o.propensity > 0 && o.propensity <= 1);
  }
  assert.deepEqual([...seen].sort(), [0, 5, 6, 7], 'every eligible cart arm is offered');
  // item offers never carry a cart arm
  for (let i = 0; i < 200; i++) assert.ok((await d.offer('item-3', { now: T0 + 5000 + i })).arm < 5);
  d.close();
});

test('cart: the same seed, state and decision id give the same cart offers, on the SIMD and the plain build', async () => {
  const run = async (w) => {
    const d = await open({ wasm: w, tokenSecret: undefined });
    const out = [];
    for (let i = 0; i < 40; i++) {
      d.track({ type: i % 3 ? 'view' : 'cart', itemId: `item-${(i * 37) % 300}`, ts: T0 + i * 1000 });
      const cart = [{ itemId: `item-${(i * 11) % 300}`, quantity: 1 + (i % 3) }, { itemId: `item-${(i * 7) % 300}` }];
      const o = await d.offerCart(cart, { now: T0 + i * 1000 + 500 });
      out.push(o);
      if (i % 4 === 0) { d.shown(o.decisionId); assert.equal(d.report(o.decisionId, { converted: i % 8 === 0, revenue: 50, margin: 12 }).applied, true); }
    }
    const replay = await d.offerCart([{ itemId: 'item-3' }], { now: T0, decisionId: '0123456789abcdef0123456789abcdef' });
    d.close();
    return { out, replay };
  };
  const a = await run({ simd: wasm.simd });
  const b = await run({ plain: wasm.plain });
  const c = await run({ simd: wasm.simd });
  assert.deepEqual(a, c, 'deterministic');
  assert.deepEqual(a, b, 'SIMD128 and plain builds give identical cart decisions');
  assert.equal(a.replay.decisionId, '0123456789abcdef0123456789abcdef');
  assert.ok(new Set(a.out.map((o) => o.arm)).size > 1);
});

test('cart: the cart token verifies with the order\'s cart and total, and is refused expired, tampered, for another cart, below the minimum, or in the wrong scope', async () => {
  const d = await open();
  const cart = [{ itemId: 'item-3', quantity: 2 }, { itemId: 'item-13' }, { itemId: 'item-7', quantity: 3 }];
  let o;
  for (let i = 0; !o || o.arm !== 5; i++) o = await d.offerCart(cart, { now: T0 + i }); // the coupon over 50
  const now = T0 + 1000;
  const want = { scope: 'cart', decisionId: o.decisionId, discount: o.discount, amount: o.amount, minSpend: 50, kind: 'percent', arm: 5, expiresAt: o.expiresAt };
  assert.deepEqual(await verifyOfferToken(o.token, SECRET, { now, crypto, cart, total: o.cartValue }), want);
  // the same lines in another order, split or merged: the same cart
  const same = [{ itemId: 'item-7', quantity: 1 }, { itemId: 'item-13', quantity: 1 }, { itemId: 'item-3', quantity: 2 }, { itemId: 'item-7', quantity: 2 }];
  assert.deepEqual(await verifyOfferToken(o.token, SECRET, { now, crypto, cart: same, total: o.cartValue }), want);
  await rejectsCode(assert, verifyOfferToken(o.token, SECRET, { now, crypto, cart: [...cart, { itemId: 'item-1', quantity: 1 }], total: 99 }), 'TOKEN_CART_MISMATCH');
  await rejectsCode(assert, verifyOfferToken(o.token, SECRET, { now, crypto, cart: [{ itemId: 'item-3', quantity: 1 }, ...cart.slice(1)], total: 99 }), 'TOKEN_CART_MISMATCH');
  await rejectsCode(assert, verifyOfferToken(o.token, SECRET, { now, crypto, cart, total: 49.99 }), 'TOKEN_MIN_SPEND');
  await rejectsCode(assert, verifyOfferToken(o.token, SECRET, { now, crypto, cart }), 'TOKEN_MIN_SPEND'); // no total: not >= 50
  await rejectsCode(assert, verifyOfferToken(o.token, SECRET, { now: o.expiresAt, crypto, cart, total: 99 }), 'TOKEN_EXPIRED');
  await rejectsCode(assert, verifyOfferToken(o.token, SECRET, { now, crypto }), 'TOKEN_SCOPE');
  const e = await verifyOfferToken(o.token, SECRET, { now, crypto }).catch((x) => x);
  assert.match(e.message, /is a cart offer: pass the order's \{ cart, total \}/);
  // tampered: a larger amount, a lower minimum spend, another secret
  const [v, body, mac] = o.token.split('.');
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
  for (const edit of [{ v: 500 }, { m: 0 }, { c: await cartDigest([{ itemId: 'item-0', quantity: 1 }], crypto) }]) {
    const forged = `${v}.${Buffer.from(JSON.stringify({ ...claims, ...edit })).toString('base64url')}.${mac}`;
    await rejectsCode(assert, verifyOfferToken(forged, SECRET, { now, crypto, cart, total: 99 }), 'TOKEN_INVALID');
  }
  await rejectsCode(assert, verifyOfferToken(o.token, 'another-secret-0123456789', { now, crypto, cart, total: 99 }), 'TOKEN_INVALID');
  // a signed token whose cart claims are incomplete is malformed
  const partial = await signOfferToken({ scope: 'cart', decisionId: o.decisionId, cart, discount: 0.1, expiresAt: o.expiresAt }, SECRET, { crypto });
  await rejectsCode(assert, verifyOfferToken(partial, SECRET, { now, crypto, cart, total: 99 }), 'TOKEN_INVALID');
  // an item token stays an item token: it verifies as before, and is refused as a cart's
  const item = await d.offer('item-3', { now });
  assert.deepEqual(await verifyOfferToken(item.token, SECRET, { now, crypto }), { decisionId: item.decisionId, itemId: 'item-3', discount: item.discount, arm: item.arm, expiresAt: item.expiresAt });
  await rejectsCode(assert, verifyOfferToken(item.token, SECRET, { now, crypto, cart, total: 99 }), 'TOKEN_SCOPE');
  d.close();
});

test('cart: the digest is order-free, merges repeated items and pins its canonical form', async () => {
  const a = await cartDigest([{ itemId: 'b', quantity: 1 }, { itemId: 'a', quantity: 2 }, { itemId: 'b', quantity: 3 }], crypto);
  assert.equal(a, await cartDigest([{ itemId: 'a', quantity: 2 }, { itemId: 'b', quantity: 4 }], crypto));
  const sha = (s) => createHash('sha256').update(s, 'utf8').digest('base64url');
  assert.equal(a, sha('[["a",2],["b",4]]'));
  // ids sorted by UTF-16 code units (JS's default order; the C++ checkout sorts the same way): U+1F600 (the
  // surrogates 0xD83D 0xDE00) before U+FF5E, unlike code point order; quotes, backslashes and controls escaped as JSON.stringify does
  const odd = [{ itemId: '\uff5e', quantity: 1 }, { itemId: '\u{1f600}', quantity: 1 }, { itemId: 'q"\\\n', quantity: 2 }];
  assert.equal(await cartDigest(odd, crypto), sha('[["q\\"\\\\\\n",2],["\u{1f600}",1],["\uff5e",1]]'));
  assert.notEqual(a, await cartDigest([{ itemId: 'a', quantity: 2 }, { itemId: 'b', quantity: 5 }], crypto));
});

test('cart: bad carts are refused by name, before any decision', async () => {
  const d = await open();
  const bad = 'INVALID_ARGUMENT';
  for (const cart of [[], null, 'item-3', Array.from({ length: 101 }, () => ({ itemId: 'item-1' }))]) await rejectsCode(assert, d.offerCart(cart), bad);
  for (const quantity of [0, -1, 1.5, 1001, '2']) await rejectsCode(assert, d.offerCart([{ itemId: 'item-1', quantity }]), bad);
  await rejectsCode(assert, d.offerCart([{ itemId: 'item-1' }, { itemId: 'no-such-item' }]), 'UNKNOWN_ITEM');
  await rejectsCode(assert, d.offerCart([{ quantity: 1 }]), bad);
  await rejectsCode(assert, d.offerCart([{ itemId: 7 }]), 'UNKNOWN_ITEM'); // a number is the id '7'
  const ok = await d.offerCart([{ itemId: 'item-7', quantity: 1000 }]);
  assert.deepEqual(ok.cart, [{ itemId: 'item-7', quantity: 1000 }]);
  assert.equal(ok.cartValue, d.summary.price[7] * 1000);
  d.close();
});

test('cart: the collector gets the decision as item "@cart" at the cart\'s value and cost, with its context; a holdout shopper\'s cart gets arm 0', async () => {
  const queued = [];
  const transport = { enqueue: (kind, r) => queued.push([kind, r]), flush: async () => ({ ok: true }), close() {} };
  const d = await open({ transport });
  const cart = [{ itemId: 'item-3', quantity: 2 }, { itemId: 'item-13' }];
  const o = await d.offerCart(cart, { now: T0 });
  const [kind, r] = queued.at(-1);
  assert.equal(kind, 'decisions');
  let cost = 0;
  for (const { itemId, quantity = 1 } of cart) cost += d.summary.cost[d.bundle.index(itemId)] * quantity;
  assert.deepEqual([r.decision_id, r.item_id, r.arm, r.price, r.cost, r.propensity, r.context.length], [o.decisionId, '@cart', o.arm, o.cartValue, cost, o.propensity, 15]);
  assert.equal(o.cartCost, undefined, 'the merchant\'s cost stays out of the offer');
  d.close();
  const h = await open({ transport, holdout: { share: 1 } });
  for (let i = 0; i < 10; i++) {
    const x = await h.offerCart(cart, { now: T0 + i });
    assert.deepEqual([x.arm, x.discount, x.amount, x.holdout, x.propensity, x.scope], [0, 0, 0, true, 1, 'cart']);
    assert.equal((await verifyOfferToken(x.token, SECRET, { now: T0, crypto, cart, total: 1 })).arm, 0);
  }
  assert.equal(queued.at(-1)[1].item_id, '@cart');
  assert.equal(queued.at(-1)[1].holdout, true);
  h.close();
});

test('edge: POST /offer-cart answers a cart offer whose token signs the cart\'s terms', async () => {
  let clock = T0;
  const h = createEdgeHandler({ wasm, bundle, publicKey: spki, tokenSecret: SECRET, seed: 5, crypto, now: () => clock });
  const post = (path, body, cookie) => new Request(`https://shop.example/api${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) } });
  const cart = [{ itemId: 'item-3', quantity: 2 }, { itemId: 'item-13' }, { itemId: 'item-7', quantity: 3 }];
  const arms = new Set();
  let cookie;
  for (let i = 0; i < 60; i++) {
    clock = T0 + i * 1000;
    const res = await h.fetch(post('/offer-cart', { cart, events: [{ type: 'cart', itemId: 'item-3' }] }, cookie));
    assert.equal(res.status, 200);
    cookie = res.headers.get('set-cookie').split(';')[0];
    const o = await res.json();
    arms.add(o.arm);
    assert.equal(o.scope, 'cart');
    assert.equal(o.itemId, undefined);
    assert.deepEqual(o.cart, cart.map(({ itemId, quantity = 1 }) => ({ itemId, quantity })));
    assert.ok([0, 5, 6, 7].includes(o.arm));
    assert.equal(o.cartCost, undefined);
    const claims = await verifyOfferToken(o.token, SECRET, { now: clock, crypto, cart, total: o.cartValue });
    assert.deepEqual(claims, { scope: 'cart', decisionId: o.decisionId, discount: o.discount, amount: o.amount, minSpend: o.minSpend, kind: o.kind, arm: o.arm, expiresAt: o.expiresAt });
    if (i === 0) {
      assert.deepEqual(await (await h.fetch(post('/shown', { decisionId: o.decisionId }))).json(), { ok: true, applied: true });
      assert.equal((await (await h.fetch(post('/report', { decisionId: o.decisionId, converted: true, revenue: 60, margin: 15 }))).json()).applied, true);
    }
  }
  assert.ok(arms.size > 1, `one arm only: ${[...arms]}`);
  // refusals: GET, no cart, a bad quantity, an unknown item
  let res = await h.fetch(new Request('https://shop.example/api/offer-cart'));
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  for (const [body, status, code] of [[{}, 400, 'INVALID_ARGUMENT'], [{ cart: [{ itemId: 'item-3', quantity: 0 }] }, 400, 'INVALID_ARGUMENT'], [{ cart: [{ itemId: 'nope' }] }, 404, 'UNKNOWN_ITEM']]) {
    res = await h.fetch(post('/offer-cart', body));
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal((await res.json()).error.code, code);
  }
  await h.close();
});
