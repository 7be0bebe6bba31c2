// Shared helpers of the SDK's node tests: repo paths, the native bundle tool, test keys, wasm bytes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = join(ROOT, 'sdk-js/dist');
export const crypto = webcrypto;

const BUILD_DIRS = [process.env.DISCO_BUILD_DIR, join(ROOT, 'build/release')].filter(Boolean);

/** First existing path of `rel` under the known native build trees, or null. */
export function findBuilt(rel, envVar) {
  if (envVar && process.env[envVar] && existsSync(process.env[envVar])) return process.env[envVar];
  for (const d of BUILD_DIRS) {
    const p = join(d, rel);
    if (existsSync(p)) return p;
  }
  return null;
}

export function makeBundleTool() {
  const p = findBuilt('tests/sdk/disco_sdk_make_bundle', 'DISCO_SDK_MAKE_BUNDLE') ?? findBuilt('disco_sdk_make_bundle');
  if (!p) {
    throw new Error('tests/sdk: disco_sdk_make_bundle not built: run scripts/setup.sh (or cmake --build build/release --target disco_sdk_make_bundle), or set DISCO_SDK_MAKE_BUNDLE');
  }
  return p;
}

export function wasmBytes() {
  const simd = join(DIST, 'disco-simd.wasm');
  const plain = join(DIST, 'disco.wasm');
  if (!existsSync(simd) || !existsSync(plain)) {
    throw new Error(`tests/sdk: ${DIST}/disco{,-simd}.wasm missing: run bash wasm/build.sh`);
  }
  return { simd: new Uint8Array(readFileSync(simd)), plain: new Uint8Array(readFileSync(plain)) };
}

let keyCache = null;
/** A fresh P-256 key pair for this test process: { pem (PKCS#8), spki (DER bytes), pemPublic }. */
export function testKey() {
  if (keyCache) return keyCache;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keyCache = {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    pemPublic: publicKey.export({ type: 'spki', format: 'pem' }),
  };
  return keyCache;
}

const tmp = mkdtempSync(join(tmpdir(), 'disco-sdk-test-'));
const bundleCache = new Map();
/** Bytes of a synthetic bundle from the runtime's writer (signed with testKey() unless unsigned). */
// cartArms: arms 5..7 are cart-scope (make_bundle.cpp --cart-arms).
export function makeBundle({ items = 300, dim = 16, hidden = 32, seed = 1, unsigned = false, schemaMajor, modelVersion, int4 = false, key, cartArms = false } = {}) {
  const id = JSON.stringify({ items, dim, hidden, seed, unsigned, schemaMajor, modelVersion, int4, key: key ? key.pem : null, cartArms });
  if (bundleCache.has(id)) return bundleCache.get(id);
  const out = join(tmp, `b${bundleCache.size}.disco`);
  const args = ['--out', out, '--items', String(items), '--dim', String(dim), '--hidden', String(hidden), '--seed', String(seed)];
  if (!unsigned) {
    const k = key ?? testKey();
    const kp = join(tmp, `k${bundleCache.size}.pem`);
    writeFileSync(kp, k.pem);
    args.push('--key', kp);
  }
  if (schemaMajor !== undefined) args.push('--schema-major', String(schemaMajor));
  if (modelVersion) args.push('--model-version', modelVersion);
  if (int4) args.push('--int4');
  if (cartArms) args.push('--cart-arms');
  execFileSync(makeBundleTool(), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const bytes = new Uint8Array(readFileSync(out));
  bundleCache.set(id, bytes);
  return bytes;
}

/** Rejects with a DiscoError of `code`. */
export async function rejectsCode(assert, promiseOrFn, code) {
  await assert.rejects(typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn, (e) => {
    assert.equal(e.name, 'DiscoError', `expected DiscoError, got ${e.name}: ${e.message}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}
export function throwsCode(assert, fn, code) {
  assert.throws(fn, (e) => {
    assert.equal(e.name, 'DiscoError', `expected DiscoError, got ${e.name}: ${e.message}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}
