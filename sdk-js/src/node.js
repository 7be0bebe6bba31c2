// @disco/sdk on Node (>= 18): everything from the main entry, plus file loading, the packaged
// disco.wasm files as default, and WebCrypto from node:crypto (Node 18 has no global crypto).
import { readFile } from 'node:fs/promises';
import { webcrypto } from 'node:crypto';
import { Disco as BaseDisco } from './index.js';
import { verifyOfferToken as verifyToken } from './token.js';
import { createEdgeHandler as baseEdge } from './edge.js';
import { verifyBundle as baseVerifyBundle } from './bundle.js';

export * from './index.js';
export { Transport } from './transport.js';

const DIST = new URL('../dist/', import.meta.url);
const nodeCrypto = globalThis.crypto?.subtle ? globalThis.crypto : webcrypto;

/** Reads the packaged builds: { simd, plain } bytes (sdk-js/dist/disco-simd.wasm, disco.wasm). */
export async function loadWasm({ dir = DIST } = {}) {
  const base = typeof dir === 'string' ? new URL(dir.endsWith('/') ? dir : `${dir}/`, 'file:///') : dir;
  const read = async (name) => {
    try { return new Uint8Array(await readFile(new URL(name, base))); } catch (e) {
      if (e.code === 'ENOENT') return null;
      throw e;
    }
  };
  const [simd, plain] = await Promise.all([read('disco-simd.wasm'), read('disco.wasm')]);
  if (!simd && !plain) {
    throw new Error(`@disco/sdk: no disco.wasm in ${base.pathname} (build it with wasm/build.sh, or pass { wasm })`);
  }
  const out = {};
  if (simd) out.simd = simd;
  if (plain) out.plain = plain;
  return out;
}

/** Reads a bundle file (e.g. bundle.disco) as bytes. */
export async function loadBundleFile(path) {
  return new Uint8Array(await readFile(path));
}

const withDefaults = async (opts) => ({
  ...opts,
  crypto: opts.crypto ?? nodeCrypto,
  wasm: opts.engine || opts.wasm ? opts.wasm : await loadWasm(),
});

export class Disco extends BaseDisco {
  static async create(opts = {}) { return super.create(await withDefaults(opts)); }
  static async restore(opts = {}) { return super.restore(await withDefaults(opts)); }
}

/** verifyBundle with node:crypto as the default WebCrypto (Node 18 has no global crypto). */
export function verifyBundle(bytes, publicKey, { crypto = nodeCrypto, ...rest } = {}) {
  return baseVerifyBundle(bytes, publicKey, { ...rest, crypto });
}

/** Verifies an offer token at checkout: { decisionId, itemId, discount, arm, expiresAt } or throws DiscoError (TOKEN_INVALID, TOKEN_EXPIRED). */
export function verifyOfferToken(token, secret, { now = Date.now(), crypto = nodeCrypto } = {}) {
  return verifyToken(token, secret, { now, crypto });
}

/** createEdgeHandler with the packaged wasm and node:crypto as defaults (local servers, tests). */
export function createEdgeHandler(opts = {}) {
  return baseEdge({
    ...opts,
    crypto: opts.crypto ?? nodeCrypto,
    wasm: opts.engine || opts.wasm ? opts.wasm : () => loadWasm(),
  });
}
