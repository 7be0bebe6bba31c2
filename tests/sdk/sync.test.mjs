// Fleet sync against the real collector (build/release/collector/disco-collector): outcomes that
// favour one arm, reported through a first SDK instance, make a second instance pick that arm
// after one sync; bundles are pulled with ETag/304, verified before use and hot-swapped keeping
// the session; a tampered bundle is refused; a collector that is down backs off; a pull never
// blocks a decision; the edge handler syncs from its requests. Prints the cost of a pull.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Disco, Engine, createEdgeHandler } from '../../sdk-js/src/node.js';
import { crypto, makeBundle, testKey, wasmBytes } from './helpers.mjs';
import { startCollector, keyIdOf } from './real-collector.mjs';
import { Transport } from '../../sdk-js/src/transport.js';

const SECRET = 'site-secret-for-the-sdk-tests';
const wasm = wasmBytes();
const { spki } = testKey();
const bundleA = makeBundle({ items: 120, dim: 16, hidden: 24, seed: 21, modelVersion: 'fleet-a' });
const bundleB = makeBundle({ items: 120, dim: 16, hidden: 24, seed: 22, modelVersion: 'fleet-b' });
const T0 = Date.now();
const FAVOURED = 2;

function armShares(d, n, item = 'item-5') {
  const c = new Map();
  for (let i = 0; i < n; i++) {
    const o = d.offerSync(item, { now: T0 + 10_000_000 + i });
    c.set(o.arm, (c.get(o.arm) ?? 0) + 1);
  }
  return c;
}

test('sync: fleet statistics from the real collector steer a second instance; bundles swap with ETag, verified', { timeout: 120_000 }, async (t) => {
  const col = await startCollector();
  t.after(() => col.stop());
  col.publish(bundleA);
  const engine = await Engine.load(wasm);
  // First instance: many shoppers' decisions (one Disco per shopper), outcomes favour arm 2.
  let reported = 0;
  for (let s = 0; s < 40; s++) {
    const d = await Disco.create({ engine, bundle: bundleA, publicKey: spki, seed: 100 + s, userKeySalt: 'test-site-user-salt-0123', userId: `shopper-${s}`,
      collector: { url: col.url, key: SECRET, flushIntervalMs: 60_000 }, crypto });
    for (let i = 0; i < 12; i++) {
      const o = d.offerSync(`item-${(s * 7 + i) % 120}`, { now: T0 + s * 1000 + i });
      d.shown(o.decisionId, { ts: T0 + s * 1000 + i + 1 });
      const price = d.summary.price[d.bundle.index(o.itemId)];
      d.report(o.decisionId, { converted: o.arm === FAVOURED, revenue: price, margin: o.arm === FAVOURED ? 2 * price : -2 * price, ts: T0 + s * 1000 + i + 2 });
      reported++;
    }
    const r = await d.flush();
    assert.ok(r.ok, JSON.stringify(r));
    d.close();
  }
  // the collector has the statistics of every shown, joined decision
  const json = await (await fetch(`${col.base}/v1/bandit-state`, { headers: { 'x-disco-key': keyIdOf(SECRET) } })).json();
  assert.equal(json.arms.reduce((a, x) => a + x.n, 0), reported, 'every reported decision is in the fleet statistics');

  // Second instance, its own seed, no outcomes of its own: before and after one sync.
  const events = [];
  const second = await Disco.create({ engine, bundle: bundleA, publicKey: spki, seed: 999, userKeySalt: 'test-site-user-salt-0123', userId: 'other',
    collector: { url: col.url, key: SECRET }, crypto,
    sync: { everyMs: 60_000, auto: false, onSync: (r) => events.push(r) } });
  second.track({ type: 'view', itemId: 'item-9' });
  const before = armShares(second, 200);
  const r1 = await second.sync();
  assert.equal(r1.bundle, 'unchanged', 'the running bundle is the served one: its ETag matched (304)');
  assert.equal(r1.stats, 'imported');
  assert.ok(r1.version > 0);
  const after = armShares(second, 200);
  console.log(`arm ${FAVOURED} before sync ${before.get(FAVOURED) ?? 0}/200, after ${after.get(FAVOURED) ?? 0}/200`);
  assert.ok((after.get(FAVOURED) ?? 0) >= 150, `after the sync arm ${FAVOURED} dominates: ${JSON.stringify([...after])}`);
  assert.ok((before.get(FAVOURED) ?? 0) < 120, `before it did not: ${JSON.stringify([...before])}`);
  const r2 = await second.sync();
  assert.deepEqual([r2.bundle, r2.stats, r2.bytes], ['unchanged', 'unchanged', 0], 'nothing changed: two 304s');
  assert.deepEqual(events.map((e) => e.stats), ['imported', 'unchanged']);

  // A new bundle: pulled, verified, hot-swapped; the session (its seen items) is kept.
  col.publish(bundleB);
  const r3 = await second.sync();
  assert.equal(r3.bundle, 'swapped');
  assert.equal(second.info.modelVersion, 'fleet-b');
  assert.ok(!second.recommend({ k: 119 }).some((x) => x.itemId === 'item-9'), 'the session survived the swap');
  // A tampered bundle is refused before anything uses it; the instance keeps running bundle B.
  const bad = bundleA.slice();
  bad[bad.length >> 1] ^= 1;
  col.publish(bad);
  await assert.rejects(second.sync(), (e) => e.code === 'SIGNATURE' || e.code === 'CHECKSUM' || e.code === 'BUNDLE_FORMAT');
  assert.equal(second.info.modelVersion, 'fleet-b');
  assert.ok(second.offerSync('item-3').decisionId);
  second.close();
});

test('sync: a collector that is down backs off (capped, jittered); a pull in flight never blocks a decision', { timeout: 60_000 }, async (t) => {
  // a server that accepts and never answers: the pull hangs until its timeout
  const hang = createServer(() => {});
  await new Promise((r) => hang.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { hang.closeAllConnections?.(); hang.close(r); }));
  const errors = [];
  const d = await Disco.create({ wasm, bundle: bundleA, publicKey: spki, seed: 3, crypto,
    collector: { url: `http://127.0.0.1:${hang.address().port}/v1/events`, key: SECRET, quiet: true },
    sync: { everyMs: 60_000, auto: false, timeoutMs: 300, backoffBaseMs: 1000, backoffMaxMs: 8000, onError: (e) => errors.push(e) } });
  const pulling = d.sync();
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) d.offerSync('item-4');
  assert.ok(performance.now() - t0 < 1000, 'decisions ran while the pull waited');
  const delays = [];
  await assert.rejects(pulling, (e) => { delays.push(e.retryInMs); return e.code === 'NETWORK'; });
  for (let i = 0; i < 5; i++) await assert.rejects(d.sync(), (e) => { delays.push(e.retryInMs); return e.code === 'NETWORK'; });
  console.log(`backoff after 1..6 failures (ms): ${delays.join(', ')}`);
  assert.ok(delays[0] >= 500 && delays[0] <= 1000);
  assert.ok(delays[3] >= 4000 && delays[3] <= 8000);
  assert.ok(delays.every((x) => x <= 8000), 'capped');
  d.close();
});

test('sync: the edge handler pulls from its requests (ctx.waitUntil) and follows the fleet', { timeout: 120_000 }, async (t) => {
  const col = await startCollector();
  t.after(() => col.stop());
  col.publish(bundleA);
  const tx = new Transport({ url: col.url, key: SECRET, crypto, flushIntervalMs: 60_000, batchSize: 500, maxQueue: 5000 });
  // fleet data: decisions made by a plain runtime-backed Disco, favouring arm 2
  const engine = await Engine.load(wasm);
  const feeder = await Disco.create({ engine, bundle: bundleA, publicKey: spki, seed: 5, crypto, transport: tx });
  for (let i = 0; i < 400; i++) {
    const o = feeder.offerSync(`item-${i % 120}`, { now: T0 + i });
    feeder.shown(o.decisionId, { ts: T0 + i + 1 });
    const price = feeder.summary.price[feeder.bundle.index(o.itemId)];
    feeder.report(o.decisionId, { converted: true, revenue: price, margin: o.arm === FAVOURED ? 2 * price : -2 * price, ts: T0 + i + 2 });
  }
  let fr;
  for (let k = 0; k < 10 && tx.size + 1; k++) { fr = await feeder.flush(); if (!tx.size) break; }
  assert.ok(fr.ok && fr.dropped === 0, JSON.stringify(fr));
  feeder.close();
  let clock = T0;
  const h = createEdgeHandler({ wasm, bundle: bundleA, publicKey: spki, tokenSecret: 'edge-token-secret-0123456789', seed: 77, crypto,
    now: () => clock, collector: { url: col.url, key: SECRET }, sync: { everyMs: 1000 } });
  const waits = [];
  const ctx = { waitUntil: (p) => waits.push(p) };
  const offerArms = async (n) => {
    const c = new Map();
    for (let i = 0; i < n; i++) {
      const o = await (await h.fetch(new Request('https://shop.example/offer?item=item-5'), {}, ctx)).json();
      c.set(o.arm, (c.get(o.arm) ?? 0) + 1);
    }
    return c;
  };
  await offerArms(1); // the first request starts the first pull
  await Promise.all(waits.splice(0));
  const after = await offerArms(100);
  assert.ok((after.get(FAVOURED) ?? 0) >= 55, `arm ${FAVOURED} dominates after the pull (5 arms, 20% each before): ${JSON.stringify([...after])}`);
  // a new bundle is seen at the next due pull; cookies of the old bundle migrate (not reset)
  const seen = Array.from({ length: 30 }, (_, i) => `item-${i * 4}`);
  const res = await h.fetch(new Request('https://shop.example/track', { method: 'POST', body: JSON.stringify({ events: seen.map((itemId) => ({ type: 'view', itemId })) }) }), {}, ctx);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  col.publish(bundleB);
  clock += 2000;
  await h.fetch(new Request('https://shop.example/recommend?k=3'), {}, ctx);
  await Promise.all(waits.splice(0));
  assert.equal((await h.info()).modelVersion, 'fleet-b');
  // 100 of 120 items recommended: a fresh session would list most of the 30 seen ones
  const rec = await (await h.fetch(new Request('https://shop.example/recommend?k=100', { headers: { cookie } }), {}, ctx)).json();
  assert.ok(!rec.items.some((x) => seen.includes(x.itemId)), 'the 30 seen items are excluded: the shopper\'s state migrated to the new bundle');
  const fresh = await (await h.fetch(new Request('https://shop.example/recommend?k=100'), {}, ctx)).json();
  assert.ok(fresh.items.filter((x) => seen.includes(x.itemId)).length > 10, 'a fresh session would have listed them');
});

test('sync: cost of a pull (FlatBuffers statistics, 6 and 20 arms; 304 when unchanged)', { timeout: 120_000 }, async (t) => {
  const sites = [{ id: 'six', secret: 'six-arm-site-secret-0001' }, { id: 'twenty', secret: 'twenty-arm-site-secret-01' }];
  const col = await startCollector({ sites });
  t.after(() => col.stop());
  const rows = [];
  for (const [site, arms] of [[sites[0], 6], [sites[1], 20]]) {
    const tx = new Transport({ url: col.url, key: site.secret, crypto, flushIntervalMs: 60_000, batchSize: 500, maxQueue: 5000 });
    for (let i = 0; i < 2000; i++) {
      const id = (BigInt(arms) << 100n | BigInt(i + 1)).toString(16).padStart(32, '0');
      const context = Array.from({ length: 15 }, (_, k) => ((i * 31 + k * 7) % 100) / 100);
      tx.enqueue('decisions', { decision_id: id, ts_ms: T0 + i, user_key: String(i), item_id: `item-${i % 50}`, arm: i % arms, discount: 0.05, propensity: 1 / arms, mode: 'Online', shown: true, price: 20, cost: 10, context });
      tx.enqueue('outcomes', { decision_id: id, ts_ms: T0 + i + 5, converted: i % 3 === 0, revenue: 20, margin: i % 3 === 0 ? 8 : 0 });
    }
    for (let k = 0; k < 20 && tx.size; k++) await tx.flush();
    assert.equal(tx.size, 0);
    tx.close();
    const h = { 'x-disco-key': keyIdOf(site.secret), accept: 'application/x-disco-bandit-stats' };
    let bytes = 0;
    let etag = null;
    const N = 20;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const r = await fetch(`${col.base}/v1/bandit-state?dim=15`, { headers: h });
      bytes = (await r.arrayBuffer()).byteLength;
      etag = r.headers.get('etag');
    }
    const full = (performance.now() - t0) / N;
    const t1 = performance.now();
    for (let i = 0; i < N; i++) {
      const r = await fetch(`${col.base}/v1/bandit-state?dim=15`, { headers: { ...h, 'if-none-match': etag } });
      assert.equal(r.status, 304);
      await r.arrayBuffer();
    }
    const notModified = (performance.now() - t1) / N;
    rows.push({ arms, bytes, full, notModified });
    assert.ok(bytes > arms * (225 + 15) * 8, 'A and b of every arm');
  }
  // the import itself (5-arm synthetic bundle: the runtime refuses arms it does not have)
  const d = await Disco.create({ wasm, bundle: bundleA, publicKey: spki, seed: 1, crypto });
  const stats = d.runtime.banditExport();
  const t2 = performance.now();
  for (let i = 0; i < 200; i++) d.runtime.banditImport(stats);
  const importMs = (performance.now() - t2) / 200;
  d.close();
  for (const r of rows) console.log(`sync cost, ${r.arms} arms: ${r.bytes} bytes per pull, ${r.full.toFixed(2)} ms (200, loopback), ${r.notModified.toFixed(2)} ms when unchanged (304, 0 bytes)`);
  console.log(`banditImport: ${(importMs * 1000).toFixed(0)} us (5 arms x 15 features)`);
});
