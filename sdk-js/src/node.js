// @disco/sdk on Node (>= 18): everything from the main entry, plus file loading, the packaged
// disco.wasm files as default, and WebCrypto from node:crypto (Node 18 has no global crypto).
import { readFile } from 'node:fs/promises';
import { readFileSync, openSync, writeSync, fsyncSync, closeSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DiscoError } from './errors.js';
import { webcrypto } from 'node:crypto';
import { Disco as BaseDisco } from './index.js';
import { verifyOfferToken as verifyToken, userKeyOf as baseUserKeyOf } from './token.js';
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

/**
 * A durable StorageLike for the transport's offline queue in Node: one JSON file, rewritten
 * atomically (temp file, fsync, rename) on every change, so records queued while the collector
 * is down survive the process exiting; the next process with the same file sends them. Use one
 * file per process (it is not shared between processes).
 */
export function fileStorage(path, { fsync = true } = {}) {
  if (typeof path !== 'string' || !path) throw new DiscoError('INVALID_ARGUMENT', 'fileStorage(path): path must be a file name');
  let data = {};
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('not a JSON object');
  } catch (e) {
    if (e.code !== 'ENOENT') {
      throw new DiscoError('STORAGE', `fileStorage: ${path} is not a disco queue file (${e.message}); move it away to start an empty queue`, { cause: e });
    }
    data = {};
    mkdirSync(dirname(path), { recursive: true });
  }
  const tmp = `${path}.${process.pid}.tmp`;
  const write = () => {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(data));
      if (fsync) fsyncSync(fd);
    } finally { closeSync(fd); }
    renameSync(tmp, path);
  };
  return {
    path,
    getItem: (k) => (Object.prototype.hasOwnProperty.call(data, k) ? data[k] : null),
    setItem(k, v) { data[k] = String(v); write(); },
    removeItem(k) { if (Object.prototype.hasOwnProperty.call(data, k)) { delete data[k]; write(); } },
  };
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

/**
 * Verifies an offer token at checkout: { decisionId, itemId, discount, arm, expiresAt } or throws
 * DiscoError (TOKEN_INVALID, TOKEN_EXPIRED); a cart token with the order's { cart, total } (token.js).
 */
export function verifyOfferToken(token, secret, { crypto = nodeCrypto, ...rest } = {}) {
  return verifyToken(token, secret, { ...rest, crypto });
}

/** userKeyOf with node:crypto as the default WebCrypto: the user key of a shopper id under the site's salt. */
export function userKeyOf(userId, salt, { crypto = nodeCrypto } = {}) {
  return baseUserKeyOf(userId, salt, { crypto });
}

/** createEdgeHandler with the packaged wasm and node:crypto as defaults (local servers, tests). */
export function createEdgeHandler(opts = {}) {
  return baseEdge({
    ...opts,
    crypto: opts.crypto ?? nodeCrypto,
    wasm: opts.engine || opts.wasm ? opts.wasm : () => loadWasm(),
  });
}
