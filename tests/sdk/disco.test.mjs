// Integration: the SDK against the real disco.wasm (both builds) and real signed bundles written
// by the runtime's bundle writer (tests/sdk/make_bundle.cpp).
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Disco, Engine, DiscoError, userKeyOf } from '../../sdk-js/src/node.js';
import { crypto, makeBundle, testKey, wasmBytes, throwsCode, rejectsCode } from './helpers.mjs';
import { TestCollector, waitFor } from './collector-stub.mjs';

const T0 = 1_700_000_000_000;
const wasm = wasmBytes();
const bundle = makeBundle();
const { spki, pemPublic } = testKey();
const open = (o = {}) => Disco.create({ wasm, bundle, publicKey: spki, seed: 7, userKeySalt: 'test-site-user-salt-0123', userId: 'shopper-1', ...o });

const SALT = 'test-site-user-salt-0123';
// the user key of a shopper id, computed here with node:crypto: HMAC-SHA-256(salt, id), first 8 bytes big-endian
const keyOf = (id, salt = SALT) => BigInt(`0x${createHmac('sha256', salt).update(id).digest('hex').slice(0, 16)}`);

function script(d) {
  d.track({ type: 'view', itemId: 'item-3', ts: T0 });
  d.track({ type: 'click', itemId: 'item-8', ts: T0 + 1000 });
  d.track({ type: 'cart', itemId: 'item-8', ts: T0 + 2000, price: 12.5, quantity: 2 });
}

test('disco: track, recommend, offer, shown, report on the real wasm', async () => {
  const d = await open();
  assert.equal(d.info.nItems, 300);
  assert.equal(d.info.signed, true);
  assert.equal(typeof d.info.simd, 'boolean');
  assert.equal(d.userKey, keyOf('shopper-1'));
  script(d);
  const recs = d.recommend({ k: 10 });
  assert.equal(recs.length, 10);
  for (let i = 1; i < recs.length; i++) assert.ok(recs[i - 1].score >= recs[i].score, 'scores sorted');
  assert.ok(!recs.some((r) => r.itemId === 'item-3' || r.itemId === 'item-8'), 'seen items excluded');
  const ex = d.recommend({ k: 10, exclude: [recs[0].itemId, 'no-such-item'] });
  assert.ok(!ex.some((r) => r.itemId === recs[0].itemId));
  assert.deepEqual(ex.slice(0, 9).map((r) => r.itemId), recs.slice(1, 10).map((r) => r.itemId));

  const o = await d.offer('item-8', { now: T0 + 3000 });
  assert.match(o.decisionId, /^[0-9a-f]{32}$/);
  assert.equal(o.itemId, 'item-8');
  assert.ok(o.arm >= 0 && o.arm < 5);
  assert.ok(o.propensity > 0 && o.propensity <= 1);
  assert.ok(o.discount >= 0 && o.discount <= 0.3 + 1e-6);
  assert.equal(o.expiresAt, T0 + 3000 + 900_000);
  assert.equal(o.token, undefined, 'no token without tokenSecret');
  const p = d.propensity();
  assert.ok(p > 0 && p < 1);

  // Not shown yet: not applied now; the runtime holds the outcome and applies it when shown (the
  // collector's rule too: runtime/README.md, collector/PROTOCOL.md), so a report after that is a duplicate.
  assert.deepEqual(d.report(o.decisionId, { converted: true, revenue: 10, margin: 3 }), { applied: false, status: 'NOT_FOUND' }, 'not shown: held');
  d.shown(o.decisionId);
  assert.deepEqual(d.report(o.decisionId, { converted: true, revenue: 10, margin: 3 }), { applied: false, status: 'DUPLICATE' }, 'applied when shown');
  const o2 = await d.offer('item-9', { now: T0 + 3500 });
  d.shown(o2.decisionId);
  assert.deepEqual(d.report(o2.decisionId, { converted: true, revenue: 10, margin: 3 }), { applied: true, status: 'OK' });
  assert.deepEqual(d.report(o2.decisionId, { converted: true, revenue: 10, margin: 3 }), { applied: false, status: 'DUPLICATE' });
  throwsCode(assert, () => d.shown('ffffffffffffffffffffffffffffffff'), 'NOT_FOUND');
  d.close();
  throwsCode(assert, () => d.recommend(), 'STATE');
});

test('disco: the user key is a keyed hash of userId (HMAC-SHA-256 under userKeySalt); no salt, no userId', async () => {
  assert.equal(await userKeyOf('shopper-1', SALT), keyOf('shopper-1'));
  assert.equal(await userKeyOf('shopper-1', new TextEncoder().encode(SALT)), keyOf('shopper-1'));
  assert.notEqual(await userKeyOf('shopper-1', 'another-site-salt-0123'), keyOf('shopper-1'), 'another site, another key');
  assert.equal(keyOf('shopper-1', 'another-site-salt-0123'), await userKeyOf('shopper-1', 'another-site-salt-0123'));
  await assert.rejects(open({ userKeySalt: undefined }), (e) => e.code === 'INVALID_ARGUMENT' && /userId needs userKeySalt/.test(e.message));
  await assert.rejects(open({ userKeySalt: 'short' }), (e) => e.code === 'INVALID_ARGUMENT' && /userKeySalt must be at least 16 bytes, got 5/.test(e.message));
  const d = await open({ userKeySalt: undefined, userId: undefined, userKey: 42n });
  assert.equal(d.userKey, 42n, 'userKey as given (e.g. computed by the server)');
  d.close();
});

test('disco: bad input gives typed errors, never a silent offer', async () => {
  const d = await open();
  throwsCode(assert, () => d.track({ type: 'view', itemId: 'item-999999' }), 'UNKNOWN_ITEM');
  await rejectsCode(assert, d.offer('nope'), 'UNKNOWN_ITEM');
  throwsCode(assert, () => d.track(null), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.track('item-1'), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.track({ type: 'like', itemId: 'item-1' }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.track({ type: 'view', itemId: {} }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.track({ type: 'view', itemId: 'item-1', price: NaN }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.track({ type: 'view', itemId: 'item-1', price: '3' }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.track({ type: 'view', itemId: 'item-1', quantity: 1.5 }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.track({ type: 'view', itemId: 'item-1', ts: 'yesterday' }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.recommend({ k: 0 }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.recommend({ k: 2.5 }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.recommend({ exclude: 'item-1' }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.report('xyz', { converted: true }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.report('0123456789abcdef0123456789abcdef', { converted: 1 }), 'INVALID_ARGUMENT');
  throwsCode(assert, () => d.report('0123456789abcdef0123456789abcdef', { converted: true, margin: Infinity }), 'INVALID_ARGUMENT');
  assert.doesNotThrow(() => d.track({ type: 'view', itemId: 'item-1' }), 'the session still works after refused input');
  d.close();
  await rejectsCode(assert, open({ mode: 'aggressive' }), 'INVALID_ARGUMENT');
  await rejectsCode(assert, open({ seed: -1 }), 'INVALID_ARGUMENT');
  // a refused configuration frees what it allocated: no growth over many attempts
  const engine = await Engine.load(wasm);
  const heap = () => engine.memory.buffer.byteLength;
  // collector without a url = no collector (an unset env variable); with a url, the key is required
  const noCollector = await open({ engine, collector: { url: undefined, key: 'k' } });
  assert.equal(noCollector.transport, null);
  assert.deepEqual(await noCollector.flush(), { ok: true, sent: 0, queued: 0, dropped: 0, droppedByKind: { events: 0, decisions: 0, outcomes: 0, activations: 0 }, error: null });
  noCollector.close();
  await rejectsCode(assert, open({ engine, collector: { url: 'http://127.0.0.1:9/' } }), 'INVALID_ARGUMENT');
  const before = heap();
  for (let i = 0; i < 50; i++) await rejectsCode(assert, open({ engine, collector: { url: 'http://127.0.0.1:9/' } }), 'INVALID_ARGUMENT');
  assert.equal(heap(), before);
});

test('disco: same seed and inputs give the same decisions; SIMD and plain builds agree exactly', async () => {
  const run = async (w) => {
    const d = await Disco.create({ wasm: w, bundle, publicKey: spki, seed: 99, userKey: 12345n });
    const out = [];
    for (let i = 0; i < 40; i++) {
      d.track({ type: i % 3 === 0 ? 'cart' : 'view', itemId: `item-${(i * 37) % 300}`, ts: T0 + i * 1000 });
      const o = d.offerSync(`item-${(i * 11) % 300}`, { now: T0 + i * 1000 + 500 });
      out.push([o.decisionId, o.arm, o.propensity, o.discount, o.purchasePropensity, d.recommend({ k: 5 }).map((r) => [r.itemId, r.score])]);
      if (i % 4 === 0) { d.shown(o.decisionId); d.report(o.decisionId, { converted: i % 8 === 0, revenue: 5, margin: 1.5 }); }
    }
    const simd = d.info.simd;
    d.close();
    return { simd, out };
  };
  const a = await run({ simd: wasm.simd });
  const b = await run({ plain: wasm.plain });
  const c = await run({ simd: wasm.simd });
  assert.equal(a.simd, true);
  assert.equal(b.simd, false);
  assert.deepEqual(a.out, c.out, 'deterministic');
  assert.deepEqual(a.out, b.out, 'SIMD128 and plain builds give bit-identical decisions and scores');
});

// Found by tests/fuzz/fuzz_sdk.mjs --target js_state: a saved state whose metadata had a damaged
// seed, userKey or mode threw a raw SyntaxError / TypeError / RangeError from BigInt (or opened a
// runtime in an unknown mode); it is refused as STATE like any other damaged state.
test('disco: restore refuses a saved state with damaged metadata (STATE)', async () => {
  const d = await open();
  const state = d.saveState();
  const dv = new DataView(state.buffer, state.byteOffset);
  const head = 20 + dv.getUint32(8, true) + dv.getUint32(12, true);
  const meta = JSON.parse(new TextDecoder().decode(state.subarray(head)));
  const withMeta = (m) => {
    const bytes = new TextEncoder().encode(JSON.stringify(m));
    const out = new Uint8Array(head + bytes.length);
    out.set(state.subarray(0, head));
    out.set(bytes, head);
    new DataView(out.buffer).setUint32(16, bytes.length, true);
    return out;
  };
  const r = await Disco.restore({ wasm, bundle, publicKey: spki, state: withMeta(meta) });
  assert.equal(r.userKey, d.userKey, 'the re-framed state itself restores');
  r.close();
  for (const bad of [{ seed: '1e3' }, { seed: 'x' }, { seed: null }, { seed: 1.5 }, { userKey: 'constructor' }, { userKey: '-1' },
    { userKey: '18446744073709551616' }, { mode: 'toString' }, { mode: '__proto__' }, { mode: 'shadow' }]) {
    await rejectsCode(assert, Disco.restore({ wasm, bundle, publicKey: spki, state: withMeta({ ...meta, ...bad }) }), 'STATE');
  }
  await rejectsCode(assert, Disco.restore({ wasm, bundle, publicKey: spki, state: withMeta(null) }), 'STATE');
  d.close();
});

test('disco: saveState / restore carries the session and the bandit', async () => {
  const d = await open();
  script(d);
  for (let i = 0; i < 5; i++) {
    const o = d.offerSync(`item-${i}`, { now: T0 + 5000 + i });
    d.shown(o.decisionId);
    d.report(o.decisionId, { converted: i % 2 === 0, revenue: 20, margin: 4 });
  }
  const state = d.saveState();
  const r = await Disco.restore({ wasm, bundle, publicKey: pemPublic, state });
  assert.equal(r.userKey, d.userKey);
  assert.deepEqual(r.recommend({ k: 8 }), d.recommend({ k: 8 }));
  for (let i = 0; i < 10; i++) {
    const x = d.offerSync('item-42', { now: T0 + 9000 + i });
    const y = r.offerSync('item-42', { now: T0 + 9000 + i });
    assert.deepEqual(y, x);
  }
  const bad = state.slice();
  bad[0] ^= 0xff;
  await rejectsCode(assert, Disco.restore({ wasm, bundle, publicKey: spki, state: bad }), 'STATE');
  await rejectsCode(assert, Disco.restore({ wasm, bundle, publicKey: spki, state: state.subarray(0, state.length - 3) }), 'STATE');
  const other = makeBundle({ items: 120, dim: 8, hidden: 16, modelVersion: 'other-model' });
  await assert.rejects(Disco.restore({ wasm, bundle: other, publicKey: spki, state }), (e) => e instanceof DiscoError && e.code === 'STATE');
  d.close(); r.close();
});

test('disco: swapBundle keeps the session; refuses an unsigned replacement', async () => {
  const d = await open();
  script(d);
  const v2 = makeBundle({ seed: 2, modelVersion: 'synthetic-v2' });
  const info = await d.swapBundle(v2);
  assert.equal(info.modelVersion, 'synthetic-v2');
  const recs = d.recommend({ k: 10 });
  assert.equal(recs.length, 10);
  assert.ok(!recs.some((r) => r.itemId === 'item-3' || r.itemId === 'item-8'), 'history survived the swap');
  const o = d.offerSync('item-8', { now: T0 + 10_000 });
  assert.ok(o.propensity > 0);
  await rejectsCode(assert, d.swapBundle(makeBundle({ unsigned: true })), 'UNSIGNED');
  assert.equal(d.info.modelVersion, 'synthetic-v2', 'a refused swap changes nothing');
  d.close();
});

test('disco: one Engine shared by many shoppers; memory is bounded per session', async () => {
  const engine = await Engine.load(wasm);
  const shoppers = await Promise.all(Array.from({ length: 20 }, (_, i) => Disco.create({ engine, bundle, publicKey: spki, seed: 1, userKeySalt: 'test-site-user-salt-0123', userId: `u${i}`, maxPendingDecisions: 256 })));
  for (const d of shoppers) script(d);
  const ids = new Set(shoppers.map((d) => d.offerSync('item-1', { now: T0 }).decisionId));
  assert.equal(ids.size, 20, 'decision ids differ per shopper');
  const m = shoppers[0].memoryBytes();
  assert.ok(m.session > 0 && m.session < 64 * 1024, `session bytes ${m.session}`);
  for (const d of shoppers) d.close();
  const heap = engine.memory.buffer.byteLength;
  for (let round = 0; round < 5; round++) {
    const batch = await Promise.all(Array.from({ length: 20 }, (_, i) => Disco.create({ engine, bundle, publicKey: spki, seed: 1, userKeySalt: 'test-site-user-salt-0123', userId: `r${round}-${i}`, maxPendingDecisions: 256 })));
    for (const d of batch) { script(d); d.close(); }
  }
  assert.equal(engine.memory.buffer.byteLength, heap, 'closing frees: no growth over repeated open/close');
});

test('disco: decisions, activations and outcomes reach a collector, signed', async () => {
  const key = 'site-secret-for-tests';
  const c = await new TestCollector({ key }).start();
  const d = await open({ collector: { url: c.url, key, flushIntervalMs: 60_000 }, tokenSecret: 'token-secret-0123456789', crypto });
  script(d);
  const o = await d.offer('item-8', { now: T0 + 3000 });
  assert.match(o.token, /^v1\./);
  d.shown(o.decisionId, { ts: T0 + 3100 });
  d.report(o.decisionId, { converted: true, revenue: 11.25, margin: 3.5, ts: T0 + 60_000 });
  const flushed = await d.flush();
  assert.equal(flushed.ok, true);
  assert.equal(flushed.sent, 3);
  assert.equal(flushed.dropped, 0);
  assert.equal(c.batches.length, 1);
  const b = c.batches[0];
  assert.equal(b.decisions.length, 1);
  const dec = b.decisions[0];
  assert.equal(dec.decision_id, o.decisionId);
  assert.equal(dec.item_id, 'item-8');
  assert.equal(dec.arm, o.arm);
  assert.equal(dec.propensity, o.propensity);
  assert.equal(dec.model_version, 'synthetic-1');
  assert.equal(dec.user_key, keyOf('shopper-1').toString());
  assert.equal(dec.mode, 'Online');
  assert.ok(dec.price > 0 && dec.cost > 0);
  assert.ok(Array.isArray(dec.context) && dec.context.length > 0);
  assert.deepEqual(b.activations, [{ decision_id: o.decisionId, ts_ms: T0 + 3100 }]);
  assert.deepEqual(b.outcomes, [{ decision_id: o.decisionId, ts_ms: T0 + 60_000, converted: true, revenue: 11.25, margin: 3.5 }]);
  assert.equal(b.events.length, 0, 'events are not sent unless collector.events');
  d.close();
  await c.stop();
});

test('disco: apprentice mode shows the baseline arm and logs what it would have offered', async () => {
  const d = await open({ mode: 'apprentice' });
  script(d);
  for (let i = 0; i < 20; i++) {
    const o = d.offerSync(`item-${i}`, { now: T0 + i });
    assert.equal(o.arm, 0);
    assert.equal(o.discount, 0);
    assert.equal(o.mode, 'apprentice');
  }
  d.close();
});

test('disco: holdout is a stable share of shoppers by user key; their decisions are flagged and never train', async () => {
  const engine = await Engine.load(wasm);
  const key = 'site-secret-for-tests';
  const c = await new TestCollector({ key }).start();
  let held = 0;
  const N = 400;
  for (let i = 0; i < N; i++) {
    const d = await open({ engine, userId: `shopper-${i}`, holdout: { share: 0.25 } });
    if (d.info.holdout) held++;
    d.close();
  }
  assert.ok(held > 0.25 * N - 40 && held < 0.25 * N + 40, `${held} of ${N} in a 25% holdout`);
  // stable: the same shopper is in or out on every instance; a different salt reshuffles
  const ids = Array.from({ length: 60 }, (_, i) => `shopper-${i}`);
  const member = async (userId, o = {}) => { const d = await open({ engine, userId, holdout: { share: 0.25, ...o } }); const h = d.info.holdout; d.close(); return h; };
  const first = await Promise.all(ids.map((id) => member(id)));
  assert.deepEqual(await Promise.all(ids.map((id) => member(id))), first);
  assert.notDeepEqual(await Promise.all(ids.map((id) => member(id, { salt: 'winter-test' }))), first);
  assert.deepEqual(await Promise.all(ids.map((id) => member(id, { share: 0 }))), ids.map(() => false));
  assert.deepEqual(await Promise.all(ids.map((id) => member(id, { share: 1 }))), ids.map(() => true));

  const d = await open({ engine, userId: 'held-shopper', holdout: { share: 1, arm: '0%' }, collector: { url: c.url, key, flushIntervalMs: 60_000 } });
  script(d);
  const before = d.runtime.banditExport();
  const offers = [];
  for (let i = 0; i < 5; i++) offers.push(d.offerSync('item-8', { now: T0 + 10_000 + i }));
  for (const o of offers) {
    assert.deepEqual([o.holdout, o.arm, o.propensity, o.discount, o.guardrails], [true, 0, 1, 0, []]);
    assert.equal(o.expiresAt, T0 + 10_000 + offers.indexOf(o) + 900_000, 'the bundle\'s offer_ttl_s');
    d.shown(o.decisionId);
    assert.deepEqual(d.report(o.decisionId, { converted: true, revenue: 10, margin: 4 }), { applied: false, status: 'HOLDOUT' });
  }
  assert.deepEqual(d.runtime.banditExport(), before, 'the bandit learnt nothing from holdout decisions');
  assert.equal((await d.flush()).ok, true);
  const decs = c.records('decisions');
  assert.equal(decs.length, 5);
  for (const x of decs) {
    assert.equal(x.holdout, true);
    assert.equal(x.propensity, 1);
    assert.equal(x.arm, 0);
    assert.equal(x.context, undefined);
    assert.equal(x.user_key, keyOf('held-shopper').toString());
  }
  assert.equal(c.records('outcomes').length, 5);
  assert.equal(c.records('activations').length, 5);
  d.close();
  // refused configurations name the option
  await rejectsCode(assert, open({ engine, holdout: { share: 1.5 } }), 'INVALID_ARGUMENT');
  await rejectsCode(assert, open({ engine, holdout: { share: 0.1, arm: 'nope' } }), 'INVALID_ARGUMENT');
  await rejectsCode(assert, open({ engine, holdout: { share: 0.1, arm: 99 } }), 'INVALID_ARGUMENT');
  await c.stop();
});

test('disco: fileStorage keeps the queue when the process exits with the collector down; the next process sends it', { timeout: 60_000 }, async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const dir = mkdtempSync(join(tmpdir(), 'disco-filequeue-'));
  const key = 'site-secret-for-tests';
  const c = await new TestCollector({ key }).start();
  const port = c.port;
  await c.stop(); // down
  writeFileSync(join(dir, 'bundle.disco'), bundle);
  writeFileSync(join(dir, 'app.mjs'), `
    import { readFileSync } from 'node:fs';
    import { Disco, fileStorage } from ${JSON.stringify(new URL('../../sdk-js/src/node.js', import.meta.url).href)};
    const d = await Disco.create({ bundle: readFileSync(${JSON.stringify(join(dir, 'bundle.disco'))}), unsafeSkipVerify: true, userKeySalt: 'test-site-user-salt-0123', userId: 'u', seed: 1,
      collector: { url: 'http://127.0.0.1:${port}/v1/batch', key: '${key}', storage: fileStorage(${JSON.stringify(join(dir, 'queue.json'))}), quiet: true } });
    if (process.argv[2] === 'make') {
      const o = d.offerSync('item-2'); d.shown(o.decisionId); d.report(o.decisionId, { converted: true, revenue: 3, margin: 1 });
      const r = await d.flush();
      console.log(JSON.stringify({ id: o.decisionId, ok: r.ok, queued: r.queued }));
    } else {
      const r = await d.flush();
      console.log(JSON.stringify({ ok: r.ok, sent: r.sent }));
    }
    d.close();`);
  // async: the collector runs in this process and must keep answering while the child runs
  const run = async (arg) => JSON.parse((await promisify(execFile)(process.execPath, [join(dir, 'app.mjs'), arg], { encoding: 'utf8' })).stdout.trim());
  const made = await run('make');
  assert.deepEqual([made.ok, made.queued], [false, 3]);
  await c.start(port);
  assert.deepEqual(await run('send'), { ok: true, sent: 3 });
  assert.deepEqual(c.records('decisions').map((x) => x.decision_id), [made.id]);
  assert.equal(c.records('outcomes').length, 1);
  assert.deepEqual(await run('send'), { ok: true, sent: 0 }, 'sent once, not again');
  await c.stop();
});

// A disco.wasm older (or newer) than the SDK is refused by its ABI version: tests/sdk/abi.test.mjs.

test('disco: a short tokenSecret is refused at create; an offer whose token fails is not logged', async (t) => {
  await assert.rejects(open({ tokenSecret: 'short' }), (e) => e.code === 'INVALID_ARGUMENT' && /tokenSecret .*at least 16 bytes, got 5/.test(e.message));
  const key = 'site-secret-for-tests';
  const c = await new TestCollector({ key }).start();
  // a CryptoKey that cannot sign: offer() rejects after the runtime decided
  const verifyOnly = await crypto.subtle.importKey('raw', new TextEncoder().encode('0123456789abcdef0123'), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  t.after(() => c.stop());
  const d = await open({ collector: { url: c.url, key, flushIntervalMs: 60_000 }, tokenSecret: verifyOnly, crypto });
  t.after(() => d.close());
  await assert.rejects(d.offer('item-8', { now: T0 }));
  const ok = d.offerSync('item-9', { now: T0 + 1 }); // no token to sign: logged
  const r = await d.flush();
  assert.equal(r.ok, true);
  assert.deepEqual(c.batches.flatMap((b) => b.decisions).map((x) => x.decision_id), [ok.decisionId], 'only the offer that reached the caller');
});

test('disco: against the real collector, a wrong URL (404) or key (401) shows: flush() counts the drops, console.warn once names the fix', async (t) => {
  const { startCollector } = await import('./real-collector.mjs');
  const secret = 'site-secret-for-the-sdk-tests';
  const col = await startCollector({ sites: [{ id: 'shop', secret }] });
  t.after(() => col.stop());
  const warned = [];
  const orig = console.warn;
  console.warn = (m) => warned.push(String(m));
  t.after(() => { console.warn = orig; });
  for (const [collector, status, hint] of [
    [{ url: `${col.base}/v1/batch`, key: secret }, 404, /takes batches at POST <collector>\/v1\/events: check collector\.url/],
    [{ url: col.url, key: 'another-secret-0123456789' }, 401, /check collector\.key, the site secret/],
  ]) {
    warned.length = 0;
    const d = await open({ collector: { ...collector, flushIntervalMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      const o = d.offerSync('item-8');
      d.shown(o.decisionId);
      const r = await d.flush();
      assert.deepEqual([r.ok, r.sent, r.queued, r.dropped, r.droppedByKind.decisions, r.droppedByKind.activations, r.error?.code, r.error?.status],
        [false, 0, 0, 2, 1, 1, 'REJECTED', status], `round ${i}`);
    }
    assert.equal(warned.length, 1, `logged once (${status}): ${warned.join('\n')}`);
    assert.match(warned[0], new RegExp(`HTTP ${status} at POST `));
    assert.match(warned[0], hint);
    d.close();
  }
  // the right URL and key: delivered
  const d = await open({ collector: { url: col.url, key: secret, flushIntervalMs: 60_000 } });
  d.offerSync('item-8');
  assert.deepEqual((({ ok, sent, dropped }) => ({ ok, sent, dropped }))(await d.flush()), { ok: true, sent: 1, dropped: 0 });
  d.close();
});
