// The SDK speaks one C ABI version (sdk-js/src/engine.js ABI_VERSION = disco.h DISCO_ABI_VERSION):
// a .wasm of another version is refused right after instantiation, by name, in the browser entry
// (Disco.create) and the edge entry (createEdgeHandler) alike. And disco_offer_expired through the
// SDK (Disco.expired).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Disco, Engine } from '../../sdk-js/src/index.js';
import { ABI_VERSION } from '../../sdk-js/src/engine.js';
import { createEdgeHandler } from '../../sdk-js/src/edge.js';
import { instantiateDisco } from '../../sdk-js/src/wasm.js';
import { ROOT, crypto, makeBundle, testKey, wasmBytes } from './helpers.mjs';

const T0 = 1_700_000_000_000;
const wasm = wasmBytes();
const bundle = makeBundle();
const { spki } = testKey();
const SECRET = 'edge-token-secret-0123456789';

// A module that exports only `name` () -> i32 `value` (an ABI-version stub), or nothing.
function stubWasm(value, name = 'dw_abi_version') {
  if (value === undefined) return new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  const n = [...new TextEncoder().encode(name)];
  return new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0,
    1, 5, 1, 0x60, 0, 1, 0x7f,                       // type: () -> i32
    3, 2, 1, 0,                                      // one function of type 0
    7, 4 + n.length, 1, n.length, ...n, 0, 0,        // export it as `name`
    10, 6, 1, 4, 0, 0x41, value, 0x0b]);             // body: i32.const value
}

test('abi: the shipped wasm files speak this SDK\'s ABI version, which is disco.h\'s', async () => {
  const header = readFileSync(join(ROOT, 'runtime/include/disco/disco.h'), 'utf8');
  assert.equal(Number(/#define DISCO_ABI_VERSION (\d+)/.exec(header)[1]), ABI_VERSION);
  for (const bytes of [wasm.simd, wasm.plain]) {
    const e = await Engine.load(bytes);
    assert.equal(e.x.dw_abi_version(), ABI_VERSION);
  }
});

test('abi: a wasm of another ABI version is refused when it loads, naming both versions and the fix', async () => {
  const older = new RegExp(`^disco-simd\\.wasm: ABI version 1, this SDK speaks ${ABI_VERSION}; use the one in this @disco/sdk's dist/ or rebuild it with wasm/build\\.sh$`);
  await assert.rejects(Engine.load({ simd: stubWasm(1), plain: stubWasm(1) }), (e) => e.code === 'UNSUPPORTED' && older.test(e.message));
  await assert.rejects(Engine.load(stubWasm(ABI_VERSION + 1)),
    (e) => e.code === 'UNSUPPORTED' && e.message.startsWith(`disco.wasm: ABI version ${ABI_VERSION + 1}, this SDK speaks ${ABI_VERSION}; use the one in`));
  await assert.rejects(Engine.load(stubWasm(undefined)), (e) => e.code === 'UNSUPPORTED' && /^disco\.wasm: ABI version unknown, this SDK speaks/.test(e.message));
  // The real module with its export patched: refused in the constructor, before any other call.
  const real = await instantiateDisco(await WebAssembly.compile(wasm.plain));
  let calls = 0;
  const exports = Object.fromEntries(Object.entries(real.exports).map(([k, v]) => [k, typeof v === 'function' ? (...a) => (calls++, v(...a)) : v]));
  exports.dw_abi_version = () => 1;
  assert.throws(() => new Engine({ exports }, false, 'disco.wasm'), (e) => e.code === 'UNSUPPORTED' && /^disco\.wasm: ABI version 1, this SDK speaks/.test(e.message));
  assert.equal(calls, 0, 'nothing else of the module was touched');

  // Browser entry.
  await assert.rejects(Disco.create({ wasm: { simd: stubWasm(1), plain: stubWasm(1) }, bundle, publicKey: spki }), (e) => e.code === 'UNSUPPORTED' && older.test(e.message));
  // Edge entry: every request answers 503 with the reason until the worker is fixed.
  const h = createEdgeHandler({ wasm: { simd: stubWasm(1), plain: stubWasm(1) }, bundle, publicKey: spki, tokenSecret: SECRET, crypto });
  const errors = [];
  const log = console.error;
  console.error = (m) => errors.push(m);
  try {
    const res = await h.fetch(new Request('https://shop.example/api/recommend'));
    assert.ok(res.status >= 500, `status ${res.status}`);
    const body = await res.json();
    assert.equal(body.error.code, 'UNSUPPORTED');
    assert.match(body.error.message, older);
  } finally {
    console.error = log;
  }
  assert.match(errors.join('\n'), /startup failed: UNSUPPORTED: disco-simd\.wasm: ABI version 1/);
});

test('abi: expired() reports a non-conversion once', async () => {
  const d = await Disco.create({ wasm, bundle, publicKey: spki, seed: 7, userKeySalt: 'test-site-user-salt-0123', userId: 'shopper-x', crypto });
  d.track({ type: 'cart', itemId: 'item-8', ts: T0 });
  const o = await d.offer('item-8', { now: T0 + 1000 });
  d.shown(o.decisionId);
  assert.deepEqual(d.expired(o.decisionId), { applied: true, status: 'OK' });
  assert.deepEqual(d.expired(o.decisionId), { applied: false, status: 'DUPLICATE' });
  assert.deepEqual(d.report(o.decisionId, { converted: true, revenue: 10, margin: 3 }), { applied: false, status: 'DUPLICATE' });
  assert.equal(d.expired('0123456789abcdef0123456789abcdef').status, 'NOT_FOUND');
  d.close();
});
