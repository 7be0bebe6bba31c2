import test from 'node:test';
import assert from 'node:assert/strict';
import { Transport, WriteKeyTransport } from '../../sdk-js/src/transport.js';
import { crypto } from './helpers.mjs';
import { TestCollector, waitFor } from './collector-stub.mjs';

const KEY = 'collector-key-for-tests';
const rec = (i) => ({ decision_id: i.toString(16).padStart(32, '0'), ts_ms: 1_700_000_000_000 + i, arm: i % 5 });

class MemStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}

const mk = (url, o = {}) => new Transport({
  url, key: KEY, crypto, batchSize: 100, flushIntervalMs: 60_000, backoffBaseMs: 20, backoffMaxMs: 80, ...o,
});

test('transport: collector down then up -> nothing lost, order kept, seq contiguous', async () => {
  const c = await new TestCollector({ key: KEY }).start();
  const port = c.port;
  await c.stop(); // down: connections refused on this port
  const errors = [];
  const t = mk(c.url, { onError: (e) => errors.push(e.code) });
  for (let i = 0; i < 250; i++) assert.equal(t.enqueue('decisions', rec(i)), true);
  const down = await t.flush();
  assert.equal(down.ok, false, 'flush reports failure while the collector is down');
  assert.equal(down.queued, 250);
  assert.equal(down.dropped, 0);
  assert.equal(down.error.code, 'NETWORK');
  assert.ok(errors.includes('NETWORK'));
  await new Promise((r) => setTimeout(r, 60)); // a retry or two fail too
  await c.start(port);
  await waitFor(() => c.records('decisions').length === 250 && t.size === 0, { what: 'all 250 delivered by retries' });
  assert.deepEqual(c.records('decisions').map((d) => d.ts_ms), Array.from({ length: 250 }, (_, i) => 1_700_000_000_000 + i));
  assert.deepEqual(c.batches.map((b) => b.seq), [0, 1, 2]);
  assert.ok(c.batches.every((b) => b.sender_id === t.senderId && b.dropped_decisions === 0));
  assert.ok(t.stats.retries >= 1);
  assert.equal(c.authFailures, 0);
  t.close();
  await c.stop();
});

test('transport: queue full -> drops counted by kind and reported in the next batch only', async () => {
  const c = await new TestCollector({ key: KEY }).start();
  const t = mk(c.url, { maxQueue: 10, batchSize: 10 });
  t.flush = t.flush.bind(t);
  let accepted = 0;
  // fill synchronously: the size-triggered flush runs on a timer, after this loop
  for (let i = 0; i < 13; i++) accepted += t.enqueue('decisions', rec(i)) ? 1 : 0;
  for (let i = 0; i < 2; i++) accepted += t.enqueue('outcomes', { decision_id: rec(i).decision_id, converted: true }) ? 1 : 0;
  assert.equal(accepted, 10);
  assert.equal(t.size, 10, 'never more than maxQueue held');
  assert.equal(t.stats.dropped, 5);
  const first = await t.flush();
  assert.deepEqual({ ok: first.ok, sent: first.sent, queued: first.queued, dropped: first.dropped, byKind: first.droppedByKind, code: first.error.code },
    { ok: false, sent: 10, queued: 0, dropped: 5, byKind: { events: 0, decisions: 3, outcomes: 2, activations: 0 }, code: 'DROPPED' });
  t.enqueue('decisions', rec(99));
  assert.equal((await t.flush()).ok, true);
  assert.equal(c.batches.length, 2);
  assert.equal(c.batches[0].dropped_decisions, 3);
  assert.equal(c.batches[0].dropped_outcomes, 2);
  assert.equal(c.batches[0].decisions.length, 10);
  assert.equal(c.batches[1].dropped_decisions, 0);
  assert.equal(c.batches[1].dropped_outcomes, 0);
  t.close();
  await c.stop();
});

test('transport: backoff is exponential, jittered and capped', () => {
  const lo = new Transport({ url: 'http://127.0.0.1:9/', key: KEY, crypto, backoffBaseMs: 100, backoffMaxMs: 5000, random: () => 0 });
  const hi = new Transport({ url: 'http://127.0.0.1:9/', key: KEY, crypto, backoffBaseMs: 100, backoffMaxMs: 5000, random: () => 0.999999 });
  const los = Array.from({ length: 40 }, (_, i) => lo.backoffDelay(i + 1));
  const his = Array.from({ length: 40 }, (_, i) => hi.backoffDelay(i + 1));
  assert.deepEqual(los.slice(0, 6), [50, 100, 200, 400, 800, 1600]);
  assert.deepEqual(his.slice(0, 3), [100, 200, 400]);
  assert.ok(his.every((d) => d <= 5000), 'never above the cap');
  assert.equal(his[39], 5000);
  assert.equal(los[39], 2500, 'jitter keeps at least half the capped delay');
  const r = new Transport({ url: 'http://127.0.0.1:9/', key: KEY, crypto, backoffBaseMs: 100, backoffMaxMs: 5000 });
  const samples = new Set(Array.from({ length: 50 }, () => r.backoffDelay(8)));
  assert.ok(samples.size > 10, 'jitter spreads retries');
  for (const s of samples) assert.ok(s >= 2500 && s <= 5000);
  lo.close(); hi.close(); r.close();
});

test('transport: a permanently rejected batch (4xx) is dropped and counted, later batches flow', async () => {
  const c = await new TestCollector({ key: KEY, status: (b) => (b.seq === 0 ? 400 : 200) }).start();
  const errors = [];
  const t = mk(c.url, { onError: (e) => errors.push(e.code) });
  for (let i = 0; i < 3; i++) t.enqueue('outcomes', { decision_id: rec(i).decision_id, converted: false });
  const rejected = await t.flush();
  assert.deepEqual([rejected.ok, rejected.sent, rejected.queued, rejected.dropped, rejected.droppedByKind.outcomes, rejected.error.code, rejected.error.status],
    [false, 0, 0, 3, 3, 'REJECTED', 400]);
  t.enqueue('decisions', rec(7));
  assert.equal((await t.flush()).ok, true);
  assert.deepEqual(errors, ['REJECTED']);
  // the drops are reported at once (a batch with no records), then the next records flow
  assert.deepEqual(c.batches.map((b) => [b.seq, b.dropped_outcomes, b.outcomes.length, b.decisions.length]), [[1, 3, 0, 0], [2, 0, 0, 1]]);
  t.close();
  await c.stop();
});

test('transport: 503 with retry, then success: same seq resent, no duplicates', async () => {
  const c = await new TestCollector({ key: KEY, status: (_b, n) => (n <= 2 ? 503 : 200) }).start();
  const t = mk(c.url);
  for (let i = 0; i < 5; i++) t.enqueue('decisions', rec(i));
  assert.equal((await t.flush()).ok, false);
  await waitFor(() => c.batches.length === 1 && t.size === 0, { what: 'retry success' });
  assert.equal(c.requests, 3);
  assert.equal(c.batches[0].seq, 0);
  assert.equal(c.batches[0].decisions.length, 5);
  t.close();
  await c.stop();
});

test('transport: offline queue persists in storage and resumes in a new instance', async () => {
  const c = await new TestCollector({ key: KEY }).start();
  const port = c.port;
  await c.stop();
  const storage = new MemStorage();
  const a = mk(c.url, { storage, backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
  for (let i = 0; i < 150; i++) a.enqueue('decisions', rec(i));
  assert.equal((await a.flush()).ok, false);
  const sender = a.senderId;
  a.close(); // e.g. the tab closed while offline
  await c.start(port);
  const b = mk(c.url, { storage });
  assert.equal(b.senderId, sender);
  assert.equal(b.size, 150);
  assert.equal((await b.flush()).ok, true);
  assert.deepEqual(c.records('decisions').map((d) => d.ts_ms), Array.from({ length: 150 }, (_, i) => 1_700_000_000_000 + i));
  assert.deepEqual(c.batches.map((x) => x.seq), [0, 1]);
  b.enqueue('decisions', rec(500));
  assert.equal((await b.flush()).ok, true);
  assert.equal(c.batches[2].seq, 2);
  b.close();
  await c.stop();
});

test('transport: flushes by size without an explicit flush', async () => {
  const c = await new TestCollector({ key: KEY }).start();
  const t = mk(c.url, { batchSize: 20 });
  for (let i = 0; i < 20; i++) t.enqueue('events', { item_id: `i${i}` });
  await waitFor(() => c.batches.length === 1, { what: 'size-triggered flush' });
  assert.equal(c.batches[0].events.length, 20);
  t.close();
  await c.stop();
});

test('transport: flushes by time', async () => {
  const c = await new TestCollector({ key: KEY }).start();
  const t = mk(c.url, { flushIntervalMs: 30 });
  t.enqueue('activations', { decision_id: rec(1).decision_id, ts_ms: 1 });
  await waitFor(() => c.batches.length === 1, { what: 'interval flush' });
  assert.equal(c.batches[0].activations.length, 1);
  t.close();
  await c.stop();
});

test('transport: sendBeacon path signs in the query string and empties the queue', async () => {
  const sent = [];
  const t = mk('http://127.0.0.1:9/v1/batch', { sendBeacon: (url, blob) => { sent.push({ url, blob }); return true; } });
  for (let i = 0; i < 150; i++) t.enqueue('decisions', rec(i));
  assert.equal(await t.flushBeacon(), true);
  assert.equal(sent.length, 2);
  assert.equal(t.size, 0);
  const u = new URL(sent[0].url);
  const body = await sent[0].blob.text();
  const { createHmac, createHash } = await import('node:crypto');
  assert.equal(u.searchParams.get('disco_key'), createHash('sha256').update(KEY).digest('hex').slice(0, 16));
  assert.equal(u.searchParams.get('disco_sig'), createHmac('sha256', KEY).update(`${u.searchParams.get('disco_ts')}.${body}`).digest('hex'));
  assert.equal(JSON.parse(body).decisions.length, 100);
  t.close();
});

test('transport: without onError the first rejection is logged once (console.warn) naming the URL; quiet silences it', async () => {
  const c = await new TestCollector({ key: KEY, status: () => 404 }).start();
  const warned = [];
  const orig = console.warn;
  console.warn = (m) => warned.push(String(m));
  try {
    const url = c.url; // ends in /v1/batch, as the old README had it
    const t = mk(url);
    for (let round = 0; round < 3; round++) {
      t.enqueue('decisions', rec(round));
      const r = await t.flush();
      assert.equal(r.ok, false);
      assert.equal(r.dropped, 1);
    }
    assert.equal(warned.length, 1, warned.join('\n'));
    assert.match(warned[0], /HTTP 404 at POST .*\/v1\/batch/);
    assert.match(warned[0], /\/v1\/events: check collector\.url/);
    t.close();
    const q = mk(url, { quiet: true });
    q.enqueue('decisions', rec(9));
    assert.equal((await q.flush()).dropped, 1);
    q.close();
    const full = mk(url, { maxQueue: 1 });
    full.enqueue('decisions', rec(1));
    full.enqueue('decisions', rec(2));
    full.enqueue('decisions', rec(3));
    assert.equal(warned.length, 2);
    assert.match(warned[1], /queue is full \(collector\.maxQueue = 1 records\)/);
    full.close();
  } finally {
    console.warn = orig;
    await c.stop();
  }
});

test('transport: option errors name the collector option a user sets', () => {
  assert.throws(() => mk('http://127.0.0.1:9/v1/events', { maxQueue: 0 }), /collector\.maxQueue and collector\.batchSize must be >= 1, got 0 and 0/);
  assert.throws(() => new Transport({ key: KEY }), /collector\.url is required/);
  assert.throws(() => new Transport({ url: 'http://x/v1/events' }), /collector\.key is required/);
  assert.throws(() => new WriteKeyTransport({ url: 'http://x/v1/events' }), /collector\.writeKey \(the site's public write key\) is required/);
});

test('transport: WriteKeyTransport (a page) batches carry x-disco-write-key and nothing signed; beacons put it in the query', async () => {
  const writeKey = 'wk_public_site_write_key';
  const c = await new TestCollector({ writeKey }).start();
  const t = new WriteKeyTransport({ url: c.url, writeKey, crypto, flushIntervalMs: 60_000 });
  for (let i = 0; i < 3; i++) t.enqueue('decisions', rec(i));
  const r = await t.flush();
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(c.records('decisions').map((d) => d.arm), [0, 1, 2]);
  for (const h of c.headers) {
    assert.equal(h['x-disco-write-key'], writeKey);
    for (const k of ['x-disco-key', 'x-disco-timestamp', 'x-disco-signature']) assert.equal(h[k], undefined, `${k} not sent with a write key`);
  }
  // a wrong write key is refused (401) and named in the error
  const bad = new WriteKeyTransport({ url: c.url, writeKey: 'wk_other', crypto, flushIntervalMs: 60_000, quiet: true });
  bad.enqueue('decisions', rec(9));
  const f = await bad.flush();
  assert.equal(f.dropped, 1);
  assert.match(f.error.message, /HTTP 401 .*check collector\.writeKey/);
  const sent = [];
  const b = new WriteKeyTransport({ url: `${c.url}?site=1`, writeKey, crypto, flushIntervalMs: 60_000, sendBeacon: (url) => { sent.push(url); return true; } });
  b.enqueue('outcomes', { decision_id: rec(1).decision_id, ts_ms: 1, converted: false });
  assert.equal(await b.flushBeacon(), true);
  const q = new URL(sent[0]).searchParams;
  assert.equal(q.get('disco_write_key'), writeKey);
  assert.equal(q.get('site'), '1');
  assert.equal(q.get('disco_sig'), null);
  for (const x of [t, bad, b]) x.close();
  await c.stop();
});
