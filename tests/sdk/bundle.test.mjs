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
