#!/usr/bin/env node
// demo/serve.sh --check: probes a running demo end to end (the edge worker and the collector behind
// it): the page's files hold no secret, offers come from the edge with tokens the C++ checkout
// verifies, and their outcomes reach the collector's store.
//   node demo/probe.mjs --url http://127.0.0.1:PORT/ --api-key K --secret S --public-key FILE
//                       --collector BIN --store DIR
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Disco } from '../sdk-js/src/node.js';
import { parseCli, usageError } from '../lib/cli.mjs';
import { exportDecisions } from './store-check.mjs';

const USAGE = 'usage: node demo/probe.mjs --url http://127.0.0.1:PORT/ --api-key K --secret S --public-key FILE --collector BIN --store DIR';
const FLAGS = ['url', 'api-key', 'secret', 'public-key', 'collector', 'store'];
const o = parseCli({ name: 'probe', usage: USAGE, options: Object.fromEntries(FLAGS.map((k) => [k, { type: 'string' }])) }).values;
for (const k of FLAGS) if (!o[k]) usageError('probe', USAGE, `--${k} is required`);
const url = (p) => new URL(p, o.url).href;
const results = [];
async function step(name, fn) {
  const t0 = performance.now();
  try {
    const note = await fn();
    results.push([name, 'ok', `${(performance.now() - t0).toFixed(0)} ms`, note ?? '']);
  } catch (e) {
    results.push([name, 'FAIL', '', e.message]);
    throw e;
  }
}

try {
  await step('GET / (storefront)', async () => {
    const r = await fetch(url('/'));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(await r.text(), /disco market/);
  });
  let catalog; let cfg;
  await step('GET /config.json, catalog.json', async () => {
    const rc = await fetch(url('/config.json'));
    cfg = await rc.json();
    assert.equal(cfg.apiKey, o['api-key']);
    assert.ok(!JSON.stringify(cfg).includes(o.secret), 'config.json holds no secret');
    assert.match(cfg.assets, /^a-[0-9a-f]{12}\/$/);
    catalog = await (await fetch(url(`/${cfg.assets}catalog.json`))).json();
    assert.ok(catalog.items.length > 100, 'catalog has products');
    return `${catalog.items.length} products`;
  });
  await step('GET disco-simd.wasm', async () => {
    const r = await fetch(url(`/${cfg.assets}sdk/disco-simd.wasm`));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/wasm');
    assert.match(r.headers.get('cache-control') ?? '', /max-age=\d+/);
    const b = new Uint8Array(await r.arrayBuffer());
    assert.deepEqual([...b.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
    return `${b.length} bytes, ${r.headers.get('cache-control')}`;
  });
  let bundle;
  await step('GET /v1/bundle (+ ETag revalidation)', async () => {
    const r = await fetch(url('/v1/bundle'));
    assert.equal(r.status, 200);
    const etag = r.headers.get('etag');
    assert.ok(etag, 'ETag header');
    bundle = new Uint8Array(await r.arrayBuffer());
    const r2 = await fetch(url('/v1/bundle'), { headers: { 'if-none-match': etag } });
    assert.equal(r2.status, 304);
    return `${bundle.length} bytes, ETag ${etag}`;
  });
  let offer; let item;
  const edge = async (path, body) => {
    const r = await fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(j)}`);
    return j;
  };
  await step('SDK in Node: verify the bundle, recommend', async () => {
    const d = await Disco.create({ bundle, publicKey: readFileSync(o['public-key']) });
    const popular = [...catalog.items].filter((i) => i.stock).sort((a, b) => b.views - a.views);
    for (const it of popular.slice(0, 3)) d.track({ type: 'view', itemId: it.id });
    assert.equal(d.recommend({ k: 5 }).length, 5);
    item = popular[3];
    const v = d.info.modelVersion;
    d.close();
    return `model ${v}`;
  });
  await step('edge: POST /offer (decided and signed at the edge), /shown', async () => {
    offer = await edge('/offer', { item: item.id, events: [{ type: 'view', itemId: item.id }] });
    assert.match(offer.token, /^v1\./);
    assert.equal((await edge('/shown', { decisionId: offer.decisionId })).applied, true);
    return `offer arm "${offer.armName}", propensity ${offer.propensity.toFixed(3)}`;
  });
  let order;
  await step('POST /v1/checkout (token verified in C++)', async () => {
    const tampered = offer.token.slice(0, -2) + (offer.token.endsWith('AA') ? 'BB' : 'AA');
    const post = (lines) => fetch(url('/v1/checkout'), { method: 'POST', headers: { 'content-type': 'application/json', 'x-disco-key': o['api-key'] }, body: JSON.stringify({ lines }) });
    const bad = await (await post([{ item_id: item.id, quantity: 1, price: item.price, token: tampered }])).json();
    assert.equal(bad.lines[0].offer, 'rejected');
    assert.equal(bad.lines[0].reason, 'bad_signature');
    const r = await post([{ item_id: item.id, quantity: 1, price: item.price, token: offer.token }]);
    assert.equal(r.status, 200);
    order = await r.json();
    assert.equal(order.lines[0].offer, 'applied', JSON.stringify(order.lines[0]));
    assert.equal(order.lines[0].decision_id, offer.decisionId);
    return `order ${order.order_id}: ${order.total} paid, tampered token refused`;
  });
  await step('edge: POST /report, delivered to /v1/events', async () => {
    const total = order.lines[0].total;
    const r = await edge('/report', { decisionId: offer.decisionId, converted: true, revenue: total, margin: total - item.cost });
    assert.equal(r.delivered, true, `the collector acknowledged the edge's batches: ${JSON.stringify(r)}`);
    return `applied ${r.applied}`;
  });
  await step('edge: POST /offer-cart, /v1/checkout with its cart_token and the shipping line', async () => {
    // a cart of popular in-stock products worth at least 50 at list price
    const cart = [];
    let value = 0;
    for (const it of [...catalog.items].filter((i) => i.stock && i.id !== item.id).sort((a, b) => b.views - a.views)) {
      if (value >= 50) break;
      cart.push({ itemId: it.id, quantity: 1 });
      value += it.price;
    }
    const c = await edge('/offer-cart', { cart, events: [] });
    assert.equal(c.scope, 'cart');
    assert.match(c.token, /^v1\./);
    assert.equal(c.itemId, undefined);
    const lines = cart.map((l) => ({ item_id: l.itemId, quantity: l.quantity }));
    const r = await fetch(url('/v1/checkout'), { method: 'POST', headers: { 'content-type': 'application/json', 'x-disco-key': o['api-key'] }, body: JSON.stringify({ lines, cart_token: c.token }) });
    assert.equal(r.status, 200);
    const ord = await r.json();
    assert.equal(ord.cart_offer.offer, 'applied', JSON.stringify(ord.cart_offer));
    assert.equal(ord.cart_offer.decision_id, c.decisionId);
    assert.equal(ord.shipping_fee, cfg.shipping.fee, 'the checkout charges the fee config.json announces');
    assert.ok(Math.abs(ord.total - (ord.subtotal + ord.shipping)) < 0.005, `total = goods + shipping: ${JSON.stringify(ord)}`);
    return `coupon arm "${c.armName}" (${c.amount} off over ${c.minSpend}) applied; shipping ${ord.shipping}${ord.free_shipping ? ` (free: ${ord.free_shipping})` : ''}, total ${ord.total}`;
  });
  await step('collector store has the joined outcome', async () => {
    const rows = exportDecisions(o.collector, o.store);
    const row = rows.find((x) => x.decision_id === offer.decisionId);
    assert.ok(row, `decision ${offer.decisionId} is in the store`);
    assert.equal(row.converted, '1');
    assert.equal(row.shown, '1');
    assert.ok(Math.abs(Number(row.revenue) - order.lines[0].total) < 0.01);
    return `${row.status}, revenue ${row.revenue}`;
  });
} catch (e) {
  process.exitCode = 1;
  if (!results.length || results.at(-1)[1] !== 'FAIL') results.push(['(probe)', 'FAIL', '', e.message]);
} finally {
  const w = Math.max(...results.map((r) => r[0].length));
  for (const [n, s, t, note] of results) console.log(`  ${n.padEnd(w)}  ${s.padEnd(4)} ${t.padStart(7)}  ${note}`);
}
