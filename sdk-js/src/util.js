// Small byte helpers shared by the browser, edge and Node entry points (no Node-only APIs here).
import { DiscoError } from './errors.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
export const utf8 = (s) => enc.encode(s);
export const fromUtf8 = (b) => dec.decode(b);

/** Accepts ArrayBuffer, any typed array or DataView; returns a Uint8Array view (no copy). */
export function toBytes(x, what) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new DiscoError('INVALID_ARGUMENT', `${what} must be bytes (ArrayBuffer or Uint8Array), got ${typeName(x)}`);
}

export function typeName(x) {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'object') return x.constructor?.name ?? 'object';
  return typeof x;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export function toHex(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}
export function fromHex(s) {
  if (typeof s !== 'string' || s.length % 2 || /[^0-9a-fA-F]/.test(s)) {
    throw new DiscoError('INVALID_ARGUMENT', 'expected a hex string');
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

export function b64urlEncode(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
export function b64urlDecode(s) {
  if (typeof s !== 'string' || /[^A-Za-z0-9_-]/.test(s)) {
    throw new DiscoError('INVALID_ARGUMENT', 'expected base64url text');
  }
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
export function b64Decode(s) {
  return b64urlDecode(s.replace(/\s+/g, '').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
}

/** WebCrypto's SubtleCrypto: injected (`crypto` option), else the global one (browsers, workers, Node >= 19). */
export function subtleOf(cryptoImpl) {
  const s = cryptoImpl?.subtle ?? globalThis.crypto?.subtle;
  if (!s) {
    throw new DiscoError('UNSUPPORTED', 'WebCrypto is not available: pass { crypto } (in Node 18 use the @disco/sdk/node entry)');
  }
  return s;
}
export function randomBytes(n, cryptoImpl) {
  const c = cryptoImpl ?? globalThis.crypto;
  const out = new Uint8Array(n);
  if (c?.getRandomValues) c.getRandomValues(out);
  else throw new DiscoError('UNSUPPORTED', 'crypto.getRandomValues is not available: pass { crypto }');
  return out;
}

/** Decision ids: 128 bits as 32 lowercase hex chars <-> [hi, lo] BigInts. */
export function decisionIdToHex(hi, lo) {
  return hi.toString(16).padStart(16, '0') + lo.toString(16).padStart(16, '0');
}
export function decisionIdFromHex(id) {
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) {
    throw new DiscoError('INVALID_ARGUMENT', `decision id must be 32 lowercase hex chars, got ${JSON.stringify(id)}`);
  }
  return [BigInt('0x' + id.slice(0, 16)), BigInt('0x' + id.slice(16))];
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const M64 = (1n << 64n) - 1n;
/** FNV-1a 64 of the UTF-8 bytes: the documented hash of a shopper id into a user key. */
export function fnv1a64(s) {
  let h = FNV_OFFSET;
  for (const b of utf8(String(s))) h = ((h ^ BigInt(b)) * FNV_PRIME) & M64;
  return h;
}

/** u64 from bigint | safe integer | decimal string. */
export function toU64(x, what) {
  let v;
  if (typeof x === 'bigint') v = x;
  else if (typeof x === 'number' && Number.isSafeInteger(x)) v = BigInt(x);
  else if (typeof x === 'string' && /^[0-9]{1,20}$/.test(x)) v = BigInt(x);
  else throw new DiscoError('INVALID_ARGUMENT', `${what} must be an unsigned 64-bit integer (bigint, safe integer or decimal string), got ${typeName(x)}`);
  if (v < 0n || v > M64) throw new DiscoError('INVALID_ARGUMENT', `${what} out of the unsigned 64-bit range`);
  return v;
}

/** Collector options given with a URL, else null: a missing url means "no collector". */
export function collectorOptions(c) {
  if (c === undefined || c === null || c === false) return null;
  if (typeof c !== 'object') throw new DiscoError('INVALID_ARGUMENT', `collector must be { url, key }, got ${typeName(c)}`);
  if (c.url === undefined || c.url === null || c.url === '') return null;
  return c;
}


/** Capped exponential backoff with jitter: in [cap/2, cap], cap = min(max, base * 2^(attempt-1)). */
export function backoffDelay(attempt, baseMs, maxMs, random = Math.random) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(maxMs, Math.round(cap / 2 + random() * cap / 2));
}

/** A WebCrypto CryptoKey (Node 18 has no CryptoKey global; its keys still carry the tag). */
export function isCryptoKey(x) {
  if (typeof CryptoKey !== 'undefined' && x instanceof CryptoKey) return true;
  return x !== null && typeof x === 'object' && Object.prototype.toString.call(x) === '[object CryptoKey]';
}
