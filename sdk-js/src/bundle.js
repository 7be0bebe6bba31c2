// Reads the few bundle fields the SDK needs and verifies the bundle's signature with WebCrypto.
//
// A hand-written FlatBuffers reader (~80 lines) instead of flatc --ts + the npm `flatbuffers`
// package: the SDK needs 8 fields of the outer Bundle table plus the catalog's prices and the arm
// names of the nested Model, and every byte shipped to a browser counts against the 64 KB budget.
// Every read is bounds-checked; anything out of range is a BUNDLE_FORMAT error.
import { DiscoError } from './errors.js';
import { fromUtf8, isCryptoKey, toBytes, toHex, b64Decode, subtleOf } from './util.js';

/** Newest bundle schema major this SDK understands (schemas/bundle.fbs). */
export const SCHEMA_MAJOR = 1;
export const FILE_IDENTIFIER = 'DSCB';
// A schema major more than this far above SCHEMA_MAJOR is read as corruption, not as a newer bundle
// (the runtime's kSchemaMajorMaxAhead, runtime/include/disco/version.h; tests/sdk/bundle.test.mjs
// checks that both draw the line at the same major).
const MAX_MAJOR_AHEAD = 8;

const bad = (msg) => new DiscoError('BUNDLE_FORMAT', `bundle: ${msg}`);

class Table {
  constructor(buf, dv, pos) {
    this.buf = buf; this.dv = dv; this.pos = pos;
    if (pos < 0 || pos + 4 > buf.length) throw bad(`table offset ${pos} out of range`);
    const vt = pos - dv.getInt32(pos, true);
    if (vt < 0 || vt + 4 > buf.length) throw bad(`vtable offset ${vt} out of range`);
    this.vt = vt;
    this.vtSize = dv.getUint16(vt, true);
    if (vt + this.vtSize > buf.length) throw bad('vtable overruns the buffer');
  }
  off(field, width = 4) {
    const o = 4 + 2 * field;
    if (o + 2 > this.vtSize) return 0;
    const r = this.dv.getUint16(this.vt + o, true);
    if (r && this.pos + r + width > this.buf.length) throw bad(`field ${field} out of range`);
    return r;
  }
  u8(f, d = 0) { const o = this.off(f); return o ? this.dv.getUint8(this.pos + o) : d; }
  u16(f, d = 0) { const o = this.off(f); return o ? this.dv.getUint16(this.pos + o, true) : d; }
  u32(f, d = 0) { const o = this.off(f); return o ? this.dv.getUint32(this.pos + o, true) : d; }
  u64(f, d = 0n) { const o = this.off(f, 8); return o ? this.dv.getBigUint64(this.pos + o, true) : d; }
  i64(f, d = 0n) { const o = this.off(f, 8); return o ? this.dv.getBigInt64(this.pos + o, true) : d; }
  f32(f, d = 0) { const o = this.off(f); return o ? this.dv.getFloat32(this.pos + o, true) : d; }
  ref(f) {
    const o = this.off(f);
    if (!o) return -1;
    const p = this.pos + o;
    const t = p + this.dv.getUint32(p, true);
    if (t >= this.buf.length) throw bad(`field ${f} points outside the buffer`);
    return t;
  }
  /** [start, length] of a vector of `width`-byte elements, or null. */
  vec(f, width) {
    const t = this.ref(f);
    if (t < 0) return null;
    if (t + 4 > this.buf.length) throw bad(`vector ${f} header out of range`);
    const n = this.dv.getUint32(t, true);
    if (t + 4 + n * width > this.buf.length) throw bad(`vector ${f} (${n} elements) overruns the buffer`);
    return [t + 4, n];
  }
  bytes(f) { const v = this.vec(f, 1); return v ? this.buf.subarray(v[0], v[0] + v[1]) : null; }
  str(f) { const b = this.bytes(f); return b ? fromUtf8(b) : null; }
  table(f) { const t = this.ref(f); return t < 0 ? null : new Table(this.buf, this.dv, t); }
  tables(f) {
    const v = this.vec(f, 4);
    if (!v) return [];
    const out = [];
    for (let i = 0; i < v[1]; i++) {
      const e = v[0] + 4 * i;
      out.push(new Table(this.buf, this.dv, e + this.dv.getUint32(e, true)));
    }
    return out;
  }
  floats(f) {
    const v = this.vec(f, 4);
    if (!v) return null;
    const out = new Float32Array(v[1]);
    for (let i = 0; i < v[1]; i++) out[i] = this.dv.getFloat32(v[0] + 4 * i, true);
    return out;
  }
}

function root(buf, ident, what) {
  if (buf.length < 8) throw bad(`${what} is ${buf.length} bytes, too short`);
  if (ident !== null && fromUtf8(buf.subarray(4, 8)) !== ident) {
    throw bad(`${what} has file identifier ${JSON.stringify(fromUtf8(buf.subarray(4, 8)))}, expected "${ident}" (not a disco bundle?)`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return new Table(buf, dv, dv.getUint32(0, true));
}

function guard(fn) {
  try { return fn(); } catch (e) {
    if (e instanceof DiscoError) throw e;
    throw bad(`is corrupt or truncated (${e.message})`);
  }
}

/**
 * Outer Bundle fields: { schemaMajor, schemaMinor, payload, checksum, signatureAlgo, signature, keyId }.
 * Refuses a newer schema major with a VERSION error.
 */
export function readBundleHeader(bytes) {
  const buf = toBytes(bytes, 'bundle');
  return guard(() => {
    const t = root(buf, FILE_IDENTIFIER, 'bundle');
    const h = {
      schemaMajor: t.u16(0), schemaMinor: t.u16(1), payload: t.bytes(2),
      checksum: t.u64(4), signatureAlgo: t.u8(5), signature: t.bytes(6), keyId: t.str(7),
    };
    if (!h.payload) throw bad('has no payload');
    if (h.schemaMajor > SCHEMA_MAJOR + MAX_MAJOR_AHEAD) {
      // Schema majors grow one at a time: a value this far ahead is a damaged header, not a release.
      throw bad(`header is corrupt: its schema version reads ${h.schemaMajor}.${h.schemaMinor}, which no disco release wrote (this SDK reads ${SCHEMA_MAJOR}.x); fetch or copy the bundle again`);
    }
    if (h.schemaMajor > SCHEMA_MAJOR) {
      throw new DiscoError('VERSION', `bundle schema ${h.schemaMajor}.${h.schemaMinor} is newer than this SDK reads (${SCHEMA_MAJOR}.x): upgrade @disco/sdk`);
    }
    return h;
  });
}

/** Model fields the SDK reports with decisions: version, arms, per-item price/cost. */
export function readModelSummary(payload) {
  return guard(() => {
    const m = root(payload, null, 'bundle payload');
    const catalog = m.table(3);
    if (!catalog) throw bad('payload has no catalog');
    return {
      modelVersion: m.str(0) ?? '',
      createdAtMs: Number(m.i64(1)),
      arms: m.tables(5).map((a) => ({ name: a.str(0) ?? '', kind: ['percent', 'fixed', 'free_shipping'][a.u8(1)] ?? 'percent', value: +a.f32(2).toPrecision(7) })),
      price: catalog.floats(3),
      cost: catalog.floats(4),
      offerTtlS: m.table(7)?.u32(5, 900) ?? 900, // guardrails.offer_ttl_s
    };
  });
}

/** Key id as the bundle stores it: hex of SHA-256 of the SPKI DER, first 16 chars. */
export async function keyIdOf(spkiDer, cryptoImpl) {
  const h = new Uint8Array(await subtleOf(cryptoImpl).digest('SHA-256', spkiDer));
  return toHex(h).slice(0, 16);
}

/** SPKI DER bytes from bytes, base64 text or a PEM block. */
export function spkiFrom(publicKey) {
  if (typeof publicKey === 'string') {
    const pem = publicKey.match(/-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/);
    try {
      return b64Decode(pem ? pem[1] : publicKey);
    } catch {
      throw new DiscoError('INVALID_ARGUMENT', 'publicKey: expected a PEM "PUBLIC KEY" block, base64 SPKI DER, or bytes');
    }
  }
  return toBytes(publicKey, 'publicKey');
}

/**
 * Verifies the ECDSA P-256 / SHA-256 signature (raw r||s) over the payload bytes. Throws
 * UNSIGNED when the bundle carries no signature, SIGNATURE when it does not verify. `publicKey`
 * may be a list of keys (rotation: the old and the new one), each tried in turn.
 */
export async function verifyBundle(bytes, publicKey, { crypto: cryptoImpl } = {}) {
  const h = readBundleHeader(bytes);
  if (publicKey === undefined || publicKey === null) {
    throw new DiscoError('INVALID_ARGUMENT', 'publicKey is required to verify the bundle (pass unsafeSkipVerify: true only in tests)');
  }
  if (h.signatureAlgo === 0 || !h.signature || h.signature.length === 0) {
    throw new DiscoError('UNSIGNED', 'bundle is not signed: refusing to run it (sign it: disco-train train|export --key private.pem, from disco-train keygen; unsafeSkipVerify: true only in tests)');
  }
  if (h.signatureAlgo !== 1) {
    throw new DiscoError('SIGNATURE', `bundle signature algorithm ${h.signatureAlgo} is unknown to this SDK`);
  }
  if (h.signature.length !== 64) {
    throw new DiscoError('SIGNATURE', `bundle signature is ${h.signature.length} bytes, expected 64 (raw r||s)`);
  }
  const subtle = subtleOf(cryptoImpl);
  let key;
  // a list (key rotation): the key whose id is the bundle's key_id verifies it (with none of that id,
  // the last one is tried and fails)
  for (const k of [publicKey].flat()) {
    if (isCryptoKey(k)) {
      key = k;
      break;
    }
    const der = spkiFrom(k);
    try {
      key = await subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    } catch (e) {
      throw new DiscoError('INVALID_ARGUMENT', `publicKey is not an ECDSA P-256 SPKI key (${e.message})`, { cause: e });
    }
    if (!h.keyId || (await keyIdOf(der, cryptoImpl)) === h.keyId) break;
  }
  const ok = key && await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, h.signature, h.payload);
  if (!ok) throw new DiscoError('SIGNATURE', `bundle signature does not verify: the bundle was modified, or signed by key ${h.keyId}, not a key given; refusing it`);
  return h;
}

