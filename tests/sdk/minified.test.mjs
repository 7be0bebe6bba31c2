// The shipped minified builds (sdk-js/build.mjs: esbuild, private `_` members mangled) do what the
// sources do: the same decisions for the same inputs, the transport's queue and storage, saved
// state, hot swap and fleet sync against the real collector, and the edge handler's cookie
// sessions. Nothing here reaches into internals, so a mangled name that one module set and
// another read under the old name fails by behaviour.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { minified, BUILDS } from '../../sdk-js/build.mjs';
import * as src from '../../sdk-js/src/index.js';
import { verifyOfferToken } from '../../sdk-js/src/token.js'; // a checkout's; not in the browser entry
import { crypto, makeBundle, testKey, wasmBytes } from './helpers.mjs';
import { startCollector } from './real-collector.mjs';

const SECRET = 'site-secret-for-the-sdk-tests';
const TOKEN = 'token-secret-0123456789abcdef';
const wasm = wasmBytes();
const { spki } = testKey();
const bundleA = makeBundle({ items: 120, dim: 16, hidden: 24, seed: 31, modelVersion: 'min-a' });
const bundleB = makeBundle({ items: 120, dim: 16, hidden: 24, seed: 32, modelVersion: 'min-b' });
const T0 = 1_700_000_000_000;

async function load() {
  const dir = mkdtempSync(join(tmpdir(), 'disco-min-'));
  const out = {};
  for (const [file, entry] of Object.entries(BUILDS)) {
    const p = join(dir, file.replace('dist/', '').replace('.js', '.mjs'));
    writeFileSync(p, await minified(entry));
    out[entry] = await import(pathToFileURL(p).href);
  }
  return { index: out['src/index.js'], edge: out['src/edge.js'] };
}

class MemStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}

function script(d) {
  const seen = [];
  d.track({ type: 'view', itemId: 'item-3', ts: T0 });
  d.track({ type: 'cart', itemId: 'item-8', ts: T0 + 1000, price: 12.5 });
  for (let i = 0; i < 20; i++) {
    const o = d.offerSync(`item-${(i * 7) % 120}`, { now: T0 + 2000 + i });
    seen.push([o.decisionId, o.arm, o.propensity, o.discount]);
    d.shown(o.decisionId, { ts: T0 + 2000 + i });
    d.report(o.decisionId, { converted: i % 3 === 0, revenue: 10, margin: i % 3 === 0 ? 3 : -1, ts: T0 + 3000 + i });
  }
  return { seen, recs: d.recommend({ k: 5 }).map((r) => r.itemId) };
}

test('minified: the browser build decides, queues, persists, restores, swaps and syncs like the sources', { timeout: 120_000 }, async (t) => {
  const { index: min } = await load();
  const col = await startCollector();
  t.after(() => col.stop());
  col.publish(bundleA);
  const opts = { wasm, bundle: bundleA, publicKey: spki, seed: 11, userKeySalt: 'test-site-user-salt-0123', userId: 'shopper-1', crypto, tokenSecret: TOKEN };
  const ref = await src.Disco.create(opts);
  const storage = new MemStorage();
  const d = await min.Disco.create({ ...opts, storage, collector: { url: col.url, key: SECRET, flushIntervalMs: 60_000 },
    sync: { everyMs: 60_000, auto: false } });
  t.after(() => { d.close(); ref.close(); });
  assert.deepEqual(script(d), script(ref), 'the same decisions and recommendations');
  const o = await d.offer('item-9', { now: T0 + 9000 });
  assert.equal((await verifyOfferToken(o.token, TOKEN, { now: T0 + 9001, crypto })).decisionId, o.decisionId);
  assert.ok(storage.m.get('disco.transport')?.length > 0, 'the queue is persisted');
  const r = await d.flush();
  assert.deepEqual([r.ok, r.sent, r.queued, r.dropped], [true, 61, 0, 0]); // 21 decisions, 20 activations, 20 outcomes
  // saved state -> restore: the same next decision
  const state = d.saveState();
  const back = await min.Disco.restore({ ...opts, state });
  t.after(() => back.close());
  assert.deepEqual(back.recommend({ k: 5 }), d.recommend({ k: 5 }));
  // fleet sync from the real collector (its statistics and the published bundle)
  const s = await d.sync();
  assert.equal(s.stats, 'imported', JSON.stringify(s));
  col.publish(bundleB);
  const s2 = await d.sync();
  assert.equal(s2.bundle, 'swapped', JSON.stringify(s2));
  assert.equal(d.info.modelVersion, 'min-b', 'hot-swapped, verified');
  assert.equal(d.recommend({ k: 3 }).length, 3);
});

test('minified: the edge build keeps the shopper in its cookie, signs tokens and delivers to the collector', { timeout: 120_000 }, async (t) => {
  const { edge } = await load();
  const col = await startCollector();
  t.after(() => col.stop());
  const h = edge.createEdgeHandler({ wasm, bundle: bundleA, publicKey: spki, tokenSecret: TOKEN, crypto, seed: 3,
    collector: { url: col.url, key: SECRET } });
  const pending = [];
  const ctx = { waitUntil: (p) => pending.push(p) };
  let res = await h.fetch(new Request('https://shop.example/track', { method: 'POST', body: JSON.stringify({ events: [{ type: 'view', itemId: 'item-4' }, { type: 'cart', itemId: 'item-5' }] }) }), {}, ctx);
  assert.equal(res.status, 200, await res.clone().text());
  const cookie = res.headers.get('set-cookie').split(';')[0];
  res = await h.fetch(new Request('https://shop.example/recommend?k=50', { headers: { cookie } }), {}, ctx);
  const rec = await res.json();
  assert.equal(rec.items.length, 50);
  assert.ok(!rec.items.some((x) => x.itemId === 'item-4' || x.itemId === 'item-5'), 'the cookie carried the history');
  res = await h.fetch(new Request('https://shop.example/offer?item=item-7', { headers: { cookie } }), {}, ctx);
  const offer = await res.json();
  assert.equal((await verifyOfferToken(offer.token, TOKEN, { crypto })).decisionId, offer.decisionId);
  await Promise.all(pending);
  const { read } = col.exportCanonical();
  assert.match(read('decisions.csv'), new RegExp(`^${offer.decisionId},`, 'm'), 'the decision reached the collector');
});
