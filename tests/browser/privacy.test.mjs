// With default settings no raw browsing event leaves the device: the shipped browser build
// (sdk-js/build.mjs, as dist/disco.min.js) in Debian's headless chromium (playwright-core), every
// request of the page watched (playwright's request events, and the collector's side of them).
// The shopper browses (views, clicks, carts of items never offered), gets an offer, sees it, buys;
// the page flushes, and sends a beacon as a hidden page does. Only decisions, activations and
// outcomes leave, sent with the public write key (no secret in the page); no tracked item id is
// in any request. The same page with collector.events: true does send the events: the watch sees
// them, so it would see a leak.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { minified } from '../../sdk-js/build.mjs';
import { makeBundle, testKey, wasmBytes } from '../sdk/helpers.mjs';
import { CHROMIUM, CHROMIUM_FLAGS } from './helpers.mjs';

const WRITE_KEY = 'wk_public_write_key_of_the_site';
const BROWSED = ['item-11', 'item-12', 'item-13', 'item-14', 'item-15']; // viewed, clicked, carted: never offered
const OFFERED = 'item-4';

const page = (pub, events) => `<!doctype html><html><body><pre id="out">pending</pre><script type="module">
  import { Disco } from '/disco.min.js';
  const out = document.getElementById('out');
  try {
    const d = await Disco.create({ wasm: { simd: '/disco-simd.wasm', plain: '/disco.wasm' }, bundle: fetch('/bundle.disco'),
      publicKey: '${pub}', userId: 'visitor-1', userKeySalt: 'site-salt-not-secret-0123', storage: localStorage,
      collector: { url: '/v1/events', writeKey: '${WRITE_KEY}', flushIntervalMs: 200${events ? ', events: true' : ''} } });
    window.disco = d;
    const types = ['view', 'click', 'cart', 'view', 'remove'];
    ${JSON.stringify(BROWSED)}.forEach((itemId, i) => d.track({ type: types[i], itemId, price: 9.5 }));
    d.recommend({ k: 5 });
    d.track({ type: 'view', itemId: '${OFFERED}' });
    const o = await d.offer('${OFFERED}');
    d.shown(o.decisionId);
    d.report(o.decisionId, { converted: true, revenue: 9, margin: 2 });
    const f = await d.flush();
    d.track({ type: 'view', itemId: '${BROWSED[0]}' });
    d.expired(o.decisionId);
    const beacon = await d.transport.flushBeacon();   // what a page going hidden sends
    out.textContent = JSON.stringify({ ok: f.ok, beacon, decisionId: o.decisionId });
  } catch (e) { out.textContent = JSON.stringify({ error: e.code ?? e.name, message: e.message }); }
</script></body></html>`;

async function run(events) {
  const js = await minified('src/index.js');
  const wasm = wasmBytes();
  const pub = Buffer.from(testKey().spki).toString('base64');
  const files = {
    '/': ['text/html', page(pub, events)], '/disco.min.js': ['text/javascript', js], '/disco-simd.wasm': ['application/wasm', wasm.simd],
    '/disco.wasm': ['application/wasm', wasm.plain], '/bundle.disco': ['application/octet-stream', makeBundle()],
  };
  const received = []; // the collector's side: { url, headers, body }
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url.split('?')[0];
      if (path === '/v1/events') {
        received.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const f = files[path];
      if (!f) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const profile = mkdtempSync(join(tmpdir(), 'disco-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const requests = []; // the page's side: every request it made
  try {
    const p = ctx.pages()[0] ?? await ctx.newPage();
    p.on('request', (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() ?? '' }));
    const origin = `http://127.0.0.1:${srv.address().port}`;
    await p.goto(`${origin}/`);
    await p.waitForFunction(() => document.getElementById('out').textContent !== 'pending', null, { timeout: 60_000 });
    const r = JSON.parse(await p.textContent('#out'));
    assert.equal(r.error, undefined, r.message);
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((res) => setTimeout(res, 50));
    return { r, requests, received, origin };
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
    srv.close();
  }
}

const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;

test('privacy: with default settings only decisions, activations and outcomes leave the page; no browsing event, no secret', { skip, timeout: 120_000 }, async () => {
  const { r, requests, received, origin } = await run(false);
  assert.equal(r.ok, true);
  assert.equal(r.beacon, true);
  // every request the page made: its own files, then batches to the collector (POST + beacon)
  const posts = requests.filter((q) => q.method !== 'GET');
  assert.deepEqual(requests.filter((q) => q.method === 'GET').map((q) => q.url.slice(origin.length)).sort(),
    ['/', '/bundle.disco', '/disco-simd.wasm', '/disco.min.js'], 'nothing else is fetched');
  assert.ok(posts.length >= 2, `a batch and a beacon (${posts.length} requests)`);
  for (const q of posts) assert.match(q.url, new RegExp(`^${origin}/v1/events`), `only the collector gets data: ${q.url}`);
  // what left, request by request (the page's view and the collector's view agree)
  assert.equal(received.length, posts.length);
  const kinds = { decisions: 0, activations: 0, outcomes: 0 };
  for (const q of [...posts, ...received]) {
    for (const id of BROWSED) assert.ok(!q.body.includes(id) && !q.url.includes(id), `browsed item ${id} left the page: ${q.body.slice(0, 200)}`);
    assert.doesNotMatch(q.body, /"(View|Click|Cart|Remove)"/, 'no event record');
  }
  for (const q of received) {
    const b = JSON.parse(q.body);
    assert.deepEqual(b.events, [], 'no events in a batch');
    for (const k of Object.keys(kinds)) kinds[k] += b[k].length;
    assert.ok(b.decisions.every((d) => d.item_id === OFFERED && d.decision_id === r.decisionId));
    // the write key, no secret: nothing signed
    const wk = q.headers['x-disco-write-key'] ?? new URL(q.url, origin).searchParams.get('disco_write_key');
    assert.equal(wk, WRITE_KEY);
    assert.equal(q.headers['x-disco-signature'], undefined);
    assert.ok(!q.url.includes('disco_sig'));
  }
  assert.deepEqual(kinds, { decisions: 1, activations: 1, outcomes: 2 }, 'the decision, its activation, its outcome and its expiry');
});

test('privacy: collector.events: true is the explicit way to send events, and the watch sees them', { skip, timeout: 120_000 }, async () => {
  const { received } = await run(true);
  const sent = received.flatMap((q) => JSON.parse(q.body).events);
  assert.deepEqual(sent.slice(0, 5).map((e) => [e.type, e.item_id]), [['View', 'item-11'], ['Click', 'item-12'], ['Cart', 'item-13'], ['View', 'item-14'], ['Remove', 'item-15']]);
  assert.ok(received.some((q) => BROWSED.some((id) => q.body.includes(id))), 'the browsed items are in the requests');
});
