// Bundle refusal before the first decision: unsigned, tampered, other key, newer schema, garbage.
import test from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Disco, verifyBundle, readBundleHeader } from '../../sdk-js/src/node.js';
import { makeBundle, testKey, wasmBytes, rejectsCode, throwsCode } from './helpers.mjs';

const wasm = wasmBytes();
const { spki, pemPublic } = testKey();
const good = makeBundle();

test('bundle: a signed bundle verifies with DER, PEM and base64 keys', async () => {
  const h = await verifyBundle(good, spki);
  assert.equal(h.schemaMajor, 1);
  assert.equal(h.signature.length, 64);
  await verifyBundle(good, pemPublic);
  await verifyBundle(good, Buffer.from(spki).toString('base64'));
});

test('bundle: the Node entry verifies without a global WebCrypto (as on Node 18)', async () => {
  // Node 18 has no globalThis.crypto; the @disco/sdk/node entry must bring node:crypto itself
  // (regression: verifyBundle and Disco.create failed there with UNSUPPORTED).
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  if (saved) delete globalThis.crypto;
  try {
    assert.equal(globalThis.crypto, undefined);
    const h = await verifyBundle(good, spki);
    assert.equal(h.schemaMajor, 1);
    const d = await Disco.create({ wasm, bundle: good, publicKey: spki, seed: 3 });
    d.close?.();
  } finally {
    if (saved) Object.defineProperty(globalThis, 'crypto', saved);
  }
});

test('bundle: a modified payload byte is refused before any decision (SIGNATURE)', async () => {
  const h = readBundleHeader(good);
  for (const at of [0, 17, h.payload.length >> 1, h.payload.length - 1]) {
    const bad = good.slice();
    bad[h.payload.byteOffset - good.byteOffset + at] ^= 0x01;
    await rejectsCode(assert, Disco.create({ wasm, bundle: bad, publicKey: spki }), 'SIGNATURE');
  }
});

test('bundle: unsigned refused (UNSIGNED); other key refused (SIGNATURE); no key refused', async () => {
  await rejectsCode(assert, Disco.create({ wasm, bundle: makeBundle({ unsigned: true }), publicKey: spki }), 'UNSIGNED');
  // the message names the trainer's real flag (disco-train --key), not an invented one
  await assert.rejects(Disco.create({ wasm, bundle: makeBundle({ unsigned: true }), publicKey: spki }), /disco-train train\|export --key private\.pem/);
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const otherKey = { pem: other.privateKey.export({ type: 'pkcs8', format: 'pem' }) };
  await rejectsCode(assert, Disco.create({ wasm, bundle: makeBundle({ key: otherKey }), publicKey: spki }), 'SIGNATURE');
  await rejectsCode(assert, Disco.create({ wasm, bundle: good }), 'INVALID_ARGUMENT');
  await rejectsCode(assert, Disco.create({ wasm, bundle: good, publicKey: 'not a key' }), 'INVALID_ARGUMENT');
});

test('bundle: a newer schema major is refused by name (VERSION)', async () => {
  const newer = makeBundle({ schemaMajor: 2 });
  throwsCode(assert, () => readBundleHeader(newer), 'VERSION');
  await rejectsCode(assert, Disco.create({ wasm, bundle: newer, publicKey: spki }), 'VERSION');
});

test('bundle: garbage, truncation and wrong identifiers are BUNDLE_FORMAT', async () => {
  await rejectsCode(assert, Disco.create({ wasm, bundle: new Uint8Array(0), publicKey: spki }), 'BUNDLE_FORMAT');
  await rejectsCode(assert, Disco.create({ wasm, bundle: new Uint8Array(1000).fill(7), publicKey: spki }), 'BUNDLE_FORMAT');
  await rejectsCode(assert, Disco.create({ wasm, bundle: good.subarray(0, good.length >> 1), publicKey: spki }), 'BUNDLE_FORMAT');
  const wrongId = good.slice();
  wrongId.set([88, 88, 88, 88], 4);
  await rejectsCode(assert, Disco.create({ wasm, bundle: wrongId, publicKey: spki }), 'BUNDLE_FORMAT');
  await rejectsCode(assert, Disco.create({ wasm, bundle: 'bundle.disco', publicKey: spki }), 'INVALID_ARGUMENT');
  // random corruption anywhere never crashes: a typed error or (outside the signed payload) success
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 200; i++) {
    const bad = good.slice();
    for (let j = 0; j < 4; j++) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
    try {
      const d = await Disco.create({ wasm, bundle: bad, publicKey: spki });
      d.close();
    } catch (e) {
      assert.equal(e.name, 'DiscoError', `${e.name}: ${e.message}`);
      assert.ok(['BUNDLE_FORMAT', 'SIGNATURE', 'UNSIGNED', 'VERSION', 'CHECKSUM', 'SHAPE'].includes(e.code), e.code);
    }
  }
});

test('bundle: an 8-byte field that ends past the buffer is BUNDLE_FORMAT naming the field (fuzz)', () => {
  // tests/fuzz (js_bundle): the checksum (u64) was bounds-checked as 4 bytes, so its read threw a
  // DataView RangeError that only the reader's catch-all turned into "corrupt or truncated".
  const b = Buffer.from('240000004453434200000000000000000000000000000e00180006000000010000000c000e0000000000010010000000475cb600000000', 'hex');
  assert.throws(() => readBundleHeader(b), (e) => {
    assert.equal(e.code, 'BUNDLE_FORMAT', `${e.name}: ${e.message}`);
    assert.match(e.message, /field 4 out of range/);
    return true;
  });
});

test('bundle: unsafeSkipVerify runs an unsigned bundle (tests only), the runtime still checks the checksum', async () => {
  const unsigned = makeBundle({ unsigned: true });
  const d = await Disco.create({ wasm, bundle: unsigned, unsafeSkipVerify: true, seed: 1 });
  assert.equal(d.info.signed, false);
  d.close();
  const h = readBundleHeader(unsigned);
  const bad = unsigned.slice();
  bad[h.payload.byteOffset - unsigned.byteOffset + 40] ^= 0x10;
  await rejectsCode(assert, Disco.create({ wasm, bundle: bad, unsafeSkipVerify: true }), 'CHECKSUM');
});

test('bundle: a failed fetch (HTTP 404) is named as such, not parsed', async () => {
  const res = new Response('<html>not found</html>', { status: 404 });
  await rejectsCode(assert, Disco.create({ wasm, bundle: res, publicKey: spki }), 'INVALID_ARGUMENT');
  const ok = new Response(good, { status: 200 });
  const d = await Disco.create({ wasm, bundle: ok, publicKey: spki });
  assert.equal(d.info.nItems, 300);
  d.close();
});

test('bundle: a flipped header byte reads as "corrupt", never as a newer schema', async () => {
  // Flip each bit of every byte before the payload (the outer table and its vtable): whatever the
  // reader then sees, a VERSION error may only name a plausible next major, never 28672.0.
  const h = readBundleHeader(good);
  const headerEnd = h.payload.byteOffset - good.byteOffset;
  let corrupt = 0;
  for (let at = 0; at < headerEnd; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = good.slice();
      bad[at] ^= 1 << bit;
      try { readBundleHeader(bad); } catch (e) {
        assert.equal(e.name, 'DiscoError');
        if (e.code === 'VERSION') assert.match(e.message, /bundle schema [2-9]\.\d+ is newer/);
        if (/corrupt/.test(e.message)) corrupt++;
      }
    }
  }
  assert.ok(corrupt > 0);
  // the schema_major field itself: 0x7000 | 1 -> 28673 is corrupt, 2 is newer
  const dv = new DataView(good.buffer, good.byteOffset, good.byteLength);
  const at = (() => { for (let i = 8; i < headerEnd - 1; i++) { const b = good.slice(); new DataView(b.buffer).setUint16(i, 2, true); try { readBundleHeader(b); } catch (e) { if (e.code === 'VERSION') return i; } } return -1; })();
  assert.ok(at > 0, 'found the schema_major field');
  void dv;
  const big = good.slice();
  new DataView(big.buffer).setUint16(at, 28672, true);
  throwsCode(assert, () => readBundleHeader(big), 'BUNDLE_FORMAT');
  assert.throws(() => readBundleHeader(big), /header is corrupt: its schema version reads 28672\.0/);
  await rejectsCode(assert, Disco.create({ wasm, bundle: big, publicKey: spki }), 'BUNDLE_FORMAT');
});

test('bundle: the SDK and the runtime draw the "newer" / "corrupt" line at the same schema major', async () => {
  const { Engine, BundleRef } = await import('../../sdk-js/src/engine.js');
  const engine = await Engine.load({ plain: wasm.plain });
  const codeOf = (fn) => { try { fn(); return 'OK'; } catch (e) { return e.code; } };
  const rows = [];
  for (const major of [2, 9, 10, 11, 28672]) {
    const b = makeBundle({ schemaMajor: major });
    const sdk = codeOf(() => readBundleHeader(b));
    const runtime = codeOf(() => new BundleRef(engine, b)); // the runtime's own header check (disco_bundle_load)
    rows.push([major, sdk, runtime]);
  }
  assert.deepEqual(rows, [[2, 'VERSION', 'VERSION'], [9, 'VERSION', 'VERSION'], [10, 'BUNDLE_FORMAT', 'BUNDLE_FORMAT'], [11, 'BUNDLE_FORMAT', 'BUNDLE_FORMAT'], [28672, 'BUNDLE_FORMAT', 'BUNDLE_FORMAT']]);
  assert.throws(() => new BundleRef(engine, makeBundle({ schemaMajor: 28672 })), /bundle header is corrupt \(schema 28672\): fetch or copy the bundle again/);
});
