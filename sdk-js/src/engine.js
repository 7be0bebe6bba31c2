// Typed access to disco.wasm's C ABI (runtime/include/disco/disco.h). Struct offsets are those
// wasm/src/binding.c asserts at build time. One scratch block is allocated once and reused, so
// the hot path (observe, recommend, offer) allocates nothing in wasm memory.
import { DiscoError, STATUS_CODES } from './errors.js';
import { compileDisco, instantiateDisco } from './wasm.js';
import { fromUtf8, utf8, decisionIdToHex, decisionIdFromHex } from './util.js';

export const EVENT_TYPES = Object.freeze({ view: 0, click: 1, cart: 2, remove: 3, purchase: 4 });
export const MODES = Object.freeze({ online: 0, apprentice: 1, logging: 2 });
export const GUARDRAILS = Object.freeze({
  max_discount: 1, margin_floor: 2, budget: 4, cooldown: 8, ineligible: 16, apprentice: 32,
});

// The C ABI version this SDK speaks (DISCO_ABI_VERSION, disco.h; dw_abi_version()).
export const ABI_VERSION = 2;

// scratch layout (bytes)
const S_OUT = 0;        // pointer out-param / size out-param (4)
const S_OUT2 = 8;       // second out-param (4)
const S_EVENT = 16;     // disco_event (24)
const S_FILTER = 40;    // disco_filter (28)
const S_ARGS = 72;      // int64[3] for dw_offer_make
const S_ID = 96;        // uint64[2] for dw_offer_shown
const S_OUTCOME = 112;  // disco_outcome (40)
const S_OPTIONS = 152;  // disco_runtime_options (24)
const S_INFO = 176;     // disco_bundle_info (48)
const S_OFFER = 224;    // disco_offer (120)
const S_FLOAT = 344;    // float out-param (4)
const S_TERMS = 352;    // disco_cart_terms (40)
const SCRATCH = 392;

/** One instance of disco.wasm. */
export class Engine {
  static async load(wasm) {
    const { module, simd } = await compileDisco(wasm);
    return new Engine(await instantiateDisco(module), simd, simd ? 'disco-simd.wasm' : 'disco.wasm');
  }

  constructor(instance, simd, name = 'disco.wasm') {
    this.x = instance.exports;
    // A disco.wasm of another ABI (hand-copied, or a stale build): refused here, once, by name,
    // before any call whose struct layout may differ.
    const v = typeof this.x.dw_abi_version === 'function' ? this.x.dw_abi_version() : 'unknown';
    if (v !== ABI_VERSION) throw new DiscoError('UNSUPPORTED', `${name}: ABI version ${v}, this SDK speaks ${ABI_VERSION}; use the one in this @disco/sdk's dist/ or rebuild it with wasm/build.sh`);
    this.memory = this.x.memory;
    this.simd = simd ?? this.x.dw_build_simd() === 1;
    this.scratch = this.x.dw_alloc(SCRATCH);
    if (!this.scratch) throw new DiscoError('OUT_OF_MEMORY', 'disco.wasm: cannot allocate the scratch block');
    this._bufs = new Map();
    this._view();
    this.u8.fill(0, this.scratch, this.scratch + SCRATCH); // the structs' reserved_ fields stay 0
  }

  _view() {
    if (this._buffer !== this.memory.buffer) {
      this._buffer = this.memory.buffer;
      this.dv = new DataView(this._buffer);
      this.u8 = new Uint8Array(this._buffer);
    }
    return this.dv;
  }

  /** A reusable wasm buffer of at least n bytes under `name` (grown, never shrunk). */
  buf(name, n) {
    let b = this._bufs.get(name);
    if (!b || b.cap < n) {
      if (b) this.x.dw_free(b.ptr);
      const cap = Math.max(64, n, b ? b.cap * 2 : 0);
      const ptr = this.x.dw_alloc(cap);
      if (!ptr) throw new DiscoError('OUT_OF_MEMORY', `disco.wasm: cannot allocate ${cap} bytes`);
      b = { ptr, cap };
      this._bufs.set(name, b);
    }
    return b.ptr;
  }

  cstr(ptr) {
    this._view();
    let end = ptr;
    while (this.u8[end] !== 0) end++;
    return fromUtf8(this.u8.subarray(ptr, end));
  }

  check(status, what) {
    if (status === 0) return;
    const code = STATUS_CODES[status] ?? 'INTERNAL';
    const detail = this.cstr(this.x.disco_last_error()) || this.cstr(this.x.disco_status_string(status));
    throw new DiscoError(code, `${what}: ${detail}`, { status });
  }

  /** Copies bytes into wasm memory (16-byte aligned); returns the pointer. Caller frees. */
  copyIn(bytes) {
    const ptr = this.x.dw_alloc_aligned(bytes.length);
    if (!ptr) throw new DiscoError('OUT_OF_MEMORY', `disco.wasm: cannot allocate ${bytes.length} bytes`);
    this._view();
    this.u8.set(bytes, ptr);
    return ptr;
  }

  /** Calls fn(buf, cap, outLenPtr) twice if needed (size probe) and returns a copy of the bytes. */
  saveBytes(what, fn) {
    const s = this.scratch;
    let cap = this._bufs.get('save')?.cap ?? 4096;
    for (let attempt = 0; attempt < 3; attempt++) {
      const ptr = this.buf('save', cap);
      cap = this._bufs.get('save').cap;
      const st = fn(ptr, cap, s + S_OUT);
      const dv = this._view();
      const n = dv.getUint32(s + S_OUT, true);
      if (st === 9 /* BUFFER_TOO_SMALL */ && n > cap) { cap = n; continue; }
      this.check(st, what);
      return this.u8.slice(ptr, ptr + n);
    }
    throw new DiscoError('INTERNAL', `${what}: state size kept growing`);
  }
}

const LOAD_SKIP_CHECKSUM = 1; // DISCO_LOAD_SKIP_CHECKSUM

/**
 * A loaded bundle (bytes copied into wasm memory, kept until free()). signatureVerified: the
 * caller checked the ECDSA signature over these exact payload bytes (verifyBundle), which subsumes
 * the runtime's XXH64 corruption check, so that pass over the payload is skipped.
 */
export class BundleRef {
  constructor(engine, bytes, { signatureVerified = false } = {}) {
    this.engine = engine;
    const x = engine.x;
    this.bytesPtr = engine.copyIn(bytes);
    const s = engine.scratch;
    const st = x.disco_bundle_load(this.bytesPtr, bytes.length, signatureVerified ? LOAD_SKIP_CHECKSUM : 0, s + S_OUT);
    if (st !== 0) {
      try { engine.check(st, 'bundle'); } finally { x.dw_free(this.bytesPtr); }
    }
    let dv = engine._view();
    this.ptr = dv.getUint32(s + S_OUT, true);
    engine.check(x.disco_bundle_get_info(this.ptr, s + S_INFO), 'bundle info');
    dv = engine._view();
    const i = s + S_INFO;
    this.info = {
      schemaMajor: dv.getUint16(i, true), schemaMinor: dv.getUint16(i + 2, true),
      nItems: dv.getUint32(i + 4, true), embDim: dv.getUint32(i + 8, true),
      hidden: dv.getUint32(i + 12, true), nArms: dv.getUint32(i + 16, true),
      contextDim: dv.getUint32(i + 20, true), signed: dv.getUint32(i + 24, true) === 1,
      createdAtMs: Number(dv.getBigInt64(i + 32, true)),
      modelVersion: engine.cstr(dv.getUint32(i + 40, true)),
    };
    this._index = new Map();
    this._ids = new Array(this.info.nItems);
  }

  /** Dense index of an external item id; UNKNOWN_ITEM when absent. */
  index(itemId) {
    let idx = this._index.get(itemId);
    if (idx !== undefined) return idx;
    if (typeof itemId !== 'string' || itemId.length === 0) {
      throw new DiscoError('INVALID_ARGUMENT', `item id must be a non-empty string, got ${JSON.stringify(itemId)}`);
    }
    const e = this.engine;
    const b = utf8(itemId);
    const p = e.buf('str', b.length + 1);
    e._view();
    e.u8.set(b, p);
    const st = e.x.disco_bundle_item_index(this.ptr, p, b.length, e.scratch + S_OUT);
    if (st === 7) throw new DiscoError('UNKNOWN_ITEM', `unknown item ${JSON.stringify(itemId)}: not in the catalog of model ${this.info.modelVersion}`, { status: st });
    e.check(st, 'item index');
    idx = e._view().getUint32(e.scratch + S_OUT, true);
    this._index.set(itemId, idx);
    return idx;
  }

  id(index) {
    let id = this._ids[index];
    if (id !== undefined) return id;
    const e = this.engine;
    e.check(e.x.disco_bundle_item_id(this.ptr, index, e.scratch + S_OUT), `item ${index}`);
    id = e.cstr(e._view().getUint32(e.scratch + S_OUT, true));
    this._ids[index] = id;
    return id;
  }

  free() {
    if (!this.ptr) return;
    this.engine.x.disco_bundle_free(this.ptr);
    this.engine.x.dw_free(this.bytesPtr);
    this.ptr = 0;
  }
}

/** disco_runtime: bandit + guardrail state shared by sessions. */
export class RuntimeRef {
  constructor(engine, bundle, { seed = 0n, mode = 0, maxPendingDecisions = 0 } = {}) {
    this.engine = engine;
    this.bundle = bundle;
    const s = engine.scratch;
    const dv = engine._view();
    // disco_runtime_options: size, mode, seed, max_pending_decisions (reserved_ stays 0)
    dv.setUint32(s + S_OPTIONS, 24, true);
    dv.setUint32(s + S_OPTIONS + 4, mode, true);
    dv.setBigUint64(s + S_OPTIONS + 8, seed, true);
    dv.setUint32(s + S_OPTIONS + 16, maxPendingDecisions, true);
    engine.check(engine.x.disco_runtime_create(bundle.ptr, s + S_OPTIONS, s + S_OUT), 'runtime');
    this.ptr = engine._view().getUint32(s + S_OUT, true);
  }

  swapBundle(bundle) {
    this.engine.check(this.engine.x.disco_runtime_swap_bundle(this.ptr, bundle.ptr), 'swap bundle');
    this.bundle = bundle;
  }

  createSession(userKey) {
    const e = this.engine;
    const s = e.scratch;
    const lo = Number(userKey & 0xffffffffn) >>> 0;
    const hi = Number(userKey >> 32n) >>> 0;
    e.check(e.x.dw_session_create(this.ptr, lo, hi, s + S_OUT), 'session');
    return new SessionRef(this, e._view().getUint32(s + S_OUT, true));
  }

  restoreSession(bytes) {
    const e = this.engine;
    const p = e.buf('state', bytes.length);
    e._view();
    e.u8.set(bytes, p);
    e.check(e.x.disco_session_restore(this.ptr, p, bytes.length, e.scratch + S_OUT), 'restore session');
    return new SessionRef(this, e._view().getUint32(e.scratch + S_OUT, true));
  }

  /** Writes the decision id as uint64[2] to the scratch; returns its pointer. */
  _id(decisionId) {
    const [hi, lo] = decisionIdFromHex(decisionId);
    const e = this.engine;
    const dv = e._view();
    dv.setBigUint64(e.scratch + S_ID, hi, true);
    dv.setBigUint64(e.scratch + S_ID + 8, lo, true);
    return e.scratch + S_ID;
  }

  shown(decisionId) {
    this.engine.check(this.engine.x.dw_offer_shown(this.ptr, this._id(decisionId)), `shown ${decisionId}`);
  }

  /** Returns the status code name (OK, DUPLICATE, NOT_FOUND) instead of throwing for those. */
  update(decisionId, { ts, converted, revenue, reward }) {
    const [hi, lo] = decisionIdFromHex(decisionId);
    const e = this.engine;
    const o = e.scratch + S_OUTCOME;
    const dv = e._view();
    dv.setBigUint64(o, hi, true);
    dv.setBigUint64(o + 8, lo, true);
    dv.setBigInt64(o + 16, BigInt(Math.trunc(ts)), true);
    dv.setUint32(o + 24, converted ? 1 : 0, true);
    dv.setFloat32(o + 28, revenue, true);
    dv.setFloat32(o + 32, reward, true);
    const st = e.x.disco_update(this.ptr, o);
    if (st === 0 || st === 10 || st === 11) return STATUS_CODES[st];
    e.check(st, `report ${decisionId}`);
  }

  /**
   * The offer expired unredeemed (disco_offer_expired): a non-conversion with reward 0, and its
   * reserved budget spend given back. Returns OK, DUPLICATE or NOT_FOUND like update().
   */
  expired(decisionId) {
    const st = this.engine.x.dw_offer_expired(this.ptr, this._id(decisionId));
    if (st === 0 || st === 10 || st === 11) return STATUS_CODES[st];
    this.engine.check(st, `expired ${decisionId}`);
  }

  save() {
    const e = this.engine;
    return e.saveBytes('save runtime state', (p, cap, outLen) => e.x.disco_runtime_save(this.ptr, p, cap, outLen));
  }

  restore(bytes) {
    const e = this.engine;
    const p = e.buf('state', bytes.length);
    e._view();
    e.u8.set(bytes, p);
    e.check(e.x.disco_runtime_restore(this.ptr, p, bytes.length), 'restore runtime state');
  }

  /**
   * The bandit's observed sufficient statistics (disco_bandit_export; the bundle's prior is not
   * included): all of them, or (deltaOnly) those since the last delta export, which this resets.
   * For the fleet merge: the collector, or another runtime's banditImport.
   */
  banditExport(deltaOnly = false) {
    const e = this.engine;
    return e.saveBytes('export bandit statistics', (p, cap, outLen) => e.x.disco_bandit_export(this.ptr, deltaOnly ? 1 : 0, p, cap, outLen));
  }

  /**
   * Installs banditExport bytes (disco_bandit_import): replaces the observed statistics, or adds
   * to them (merge). The bundle's prior is kept either way. Throws STATE when the bytes are not
   * bandit statistics or were made for other arms / another context length.
   */
  banditImport(bytes, merge = false) {
    const e = this.engine;
    const p = e.buf('state', bytes.length);
    e._view();
    e.u8.set(bytes, p);
    e.check(e.x.disco_bandit_import(this.ptr, p, bytes.length, merge ? 1 : 0), 'import bandit statistics');
  }

  /** Upper bound of SessionRef.saveCompact()'s size under this runtime's bundle. */
  compactStateMaxBytes() {
    return this.engine.x.disco_session_compact_max_bytes(this.ptr) >>> 0;
  }

  memoryBytes() { return this.engine.x.disco_runtime_memory_bytes(this.ptr) >>> 0; }

  free() {
    if (this.ptr) this.engine.x.disco_runtime_free(this.ptr);
    this.ptr = 0;
  }
}

/** disco_session: one shopper's LSTM state and history. */
export class SessionRef {
  constructor(runtime, ptr) {
    this.runtime = runtime;
    this.engine = runtime.engine;
    this.ptr = ptr;
  }

  observe(item, type, ts, price, quantity) {
    const e = this.engine;
    const p = e.scratch + S_EVENT;
    const dv = e._view();
    dv.setBigInt64(p, BigInt(Math.trunc(ts)), true);
    dv.setUint32(p + 8, item, true);
    dv.setUint32(p + 12, type, true);
    dv.setFloat32(p + 16, price, true);
    dv.setInt32(p + 20, quantity, true);
    e.check(e.x.disco_observe(this.ptr, p), 'track');
  }

  /** Returns { items: Uint32Array, scores: Float32Array } (copies). */
  recommend(k, o) { return this.rank(null, o, k); }

  /** disco_rank of the dense indices in `cand` (disco_recommend's top k when cand is null). */
  rank(cand, { excludeSeen = true, includeOutOfStock = false, exclude = null, category = -1 } = {}, k = cand.length) {
    const e = this.engine;
    const nEx = exclude ? exclude.length : 0;
    const itemsP = e.buf('rec_items', 4 * k);
    const scoresP = e.buf('rec_scores', 4 * k);
    const exP = nEx ? e.buf('rec_exclude', 4 * nEx) : 0;
    const cP = cand ? e.buf('rank_in', 4 * k) : 0;
    const f = e.scratch + S_FILTER;
    const dv = e._view();
    for (let i = 0; i < nEx; i++) dv.setUint32(exP + 4 * i, exclude[i], true);
    for (let i = 0; cand && i < k; i++) dv.setUint32(cP + 4 * i, cand[i], true);
    // disco_filter: size, exclude_seen, include_out_of_stock, category, exclude, n_exclude (reserved_ 0)
    dv.setUint32(f, 28, true);
    dv.setUint32(f + 4, excludeSeen ? 1 : 0, true);
    dv.setUint32(f + 8, includeOutOfStock ? 1 : 0, true);
    dv.setInt32(f + 12, category, true);
    dv.setUint32(f + 16, exP, true);
    dv.setUint32(f + 20, nEx, true);
    e.check(cand ? e.x.disco_rank(this.ptr, cP, k, f, itemsP, scoresP, e.scratch + S_OUT) : e.x.disco_recommend(this.ptr, k, f, itemsP, scoresP, e.scratch + S_OUT), cand ? 'rank' : 'recommend');
    const v = e._view();
    const n = v.getUint32(e.scratch + S_OUT, true);
    return {
      items: new Uint32Array(e._buffer.slice(itemsP, itemsP + 4 * n)),
      scores: new Float32Array(e._buffer.slice(scoresP, scoresP + 4 * n)),
    };
  }

  /**
   * [{ itemId, score }] of the item ids `ids` by disco_rank (recommend's scores and filters, each id
   * once); ids the bundle does not know follow in input order with score null. `o.exclude`: an
   * array of ids (required).
   */
  rankIds(bundle, ids, o) {
    if (!Array.isArray(ids) || !Array.isArray(o.exclude)) throw new DiscoError('INVALID_ARGUMENT', 'itemIds and exclude must be arrays');
    const unknown = new Set();
    const r = this.rank(indices(bundle, ids, unknown), { ...o, exclude: indices(bundle, o.exclude) });
    return [...named(bundle, r), ...Array.from(unknown, (itemId) => ({ itemId, score: null }))];
  }

  /** The model's purchase probability of this shopper (disco_purchase_probability). */
  purchaseProbability() {
    const e = this.engine;
    e.check(e.x.disco_purchase_probability(this.ptr, e.scratch + S_FLOAT), 'purchaseProbability');
    return e._view().getFloat32(e.scratch + S_FLOAT, true);
  }

  /**
   * Records an offer decided outside disco (the site's own discount, a replayed decision log) so
   * the shopper's context reflects it (exposure, offer recency, discounted visits); the bandit,
   * budget and pending decisions are untouched. arm: index into the bundle's arms (0 = none).
   */
  noteOffer(arm, ts) {
    const e = this.engine;
    const p = e.scratch + S_ARGS;
    e._view().setBigInt64(p, BigInt(Math.trunc(ts)), true);
    e.check(e.x.dw_note_offer(this.ptr, arm >>> 0, p), 'noteOffer');
  }

  /**
   * Raw disco_offer fields; decisionId as 32 hex chars. idHex optional (replays). With `cart`
   * (cartLines()) a cart decision (disco_offer_cart; item ignored), plus its cost (cartCost: for the
   * collector, never for the page) and terms { scope, cart, cartValue, eligibleValue, amount, minSpend }.
   */
  offer(item, nowMs, idHex, c) {
    const e = this.engine;
    const s = e.scratch;
    const cart = c?.lines;
    const n = cart?.length;
    const p = n && e.buf('cart', 8 * n);
    let dv = e._view();
    const [hi, lo] = idHex ? decisionIdFromHex(idHex) : [0n, 0n];
    dv.setBigInt64(s + S_ARGS, BigInt(Math.trunc(nowMs)), true);
    dv.setBigUint64(s + S_ARGS + 8, hi, true);
    dv.setBigUint64(s + S_ARGS + 16, lo, true);
    for (let i = 0; i < n; i++) { dv.setUint32(p + 4 * i, cart[i][0], true); dv.setUint32(p + 4 * (n + i), cart[i][1], true); }
    e.check(cart ? e.x.dw_offer_cart(this.ptr, p, p + 4 * n, n, s + S_ARGS, s + S_OFFER, s + S_TERMS) : e.x.dw_offer_make(this.ptr, item, s + S_ARGS, s + S_OFFER), 'offer');
    dv = e._view();
    const o = s + S_OFFER;
    const f64 = (at) => dv.getFloat64(s + S_TERMS + at, true);
    const contextDim = Math.min(dv.getUint32(o + 52, true), 16);
    const context = new Array(contextDim);
    for (let i = 0; i < contextDim; i++) context[i] = dv.getFloat32(o + 56 + 4 * i, true);
    return {
      decisionId: decisionIdToHex(dv.getBigUint64(o, true), dv.getBigUint64(o + 8, true)),
      item: dv.getUint32(o + 16, true),
      arm: dv.getUint32(o + 20, true),
      banditArm: dv.getUint32(o + 24, true),
      discount: dv.getFloat32(o + 28, true),
      propensity: dv.getFloat32(o + 32, true),
      purchasePropensity: dv.getFloat32(o + 36, true),
      expiresAt: Number(dv.getBigInt64(o + 40, true)),
      guardrails: dv.getUint32(o + 48, true),
      context,
      ...(c && { cartCost: f64(8), terms: { scope: 'cart', cart: c.items, cartValue: f64(0), eligibleValue: f64(16), amount: f64(24), minSpend: f64(32) } }),
    };
  }

  save() {
    const e = this.engine;
    return e.saveBytes('save session state', (p, cap, outLen) => e.x.disco_session_save(this.ptr, p, cap, outLen));
  }

  /** Compact state (format 3: int8 LSTM cell, newest 16 events, <= 64 seen items) for cookies. */
  saveCompact() {
    const e = this.engine;
    return e.saveBytes('save compact session state', (p, cap, outLen) => e.x.disco_session_save_compact(this.ptr, p, cap, outLen));
  }

  memoryBytes() { return this.engine.x.disco_session_memory_bytes(this.ptr) >>> 0; }

  free() {
    if (this.ptr) this.engine.x.disco_session_free(this.ptr);
    this.ptr = 0;
  }
}

export function guardrailNames(bits) {
  return Object.keys(GUARDRAILS).filter((k) => bits & GUARDRAILS[k]);
}

/** Dense indices of the ids `bundle` knows; the others are added to the set `unknown` (if given). */
export function indices(bundle, ids, unknown) {
  const out = [];
  for (const id of ids) {
    try { out.push(bundle.index(String(id))); } catch (e) { if (e.code !== 'UNKNOWN_ITEM') throw e; unknown?.add(String(id)); }
  }
  return out;
}

/**
 * A cart [{ itemId, quantity? }] (1..100 lines, quantities integers 1..1000, default 1) checked
 * against the bundle: { lines: [[index, quantity]], items: [{ itemId, quantity }] }.
 */
export function cartLines(bundle, cart) {
  if (!Array.isArray(cart) || !cart.length || cart.length > 100) throw new DiscoError('INVALID_ARGUMENT', 'cart must be 1..100 lines [{ itemId, quantity }]');
  const items = cart.map((l) => ({ itemId: String(l?.itemId ?? ''), quantity: l?.quantity ?? 1 }));
  return { items, lines: items.map((l) => {
    if (!(Number.isInteger(l.quantity) && l.quantity > 0 && l.quantity < 1001)) throw new DiscoError('INVALID_ARGUMENT', `cart: quantity of ${l.itemId} must be an integer in 1..1000`);
    return [bundle.index(l.itemId), l.quantity];
  }) };
}

// A cart decision's collector record fields: item "@cart" at the cart's value and cost.
export const cartRecord = (o) => o.terms && { item_id: '@cart', price: o.terms.cartValue ?? 0, cost: o.cartCost ?? 0 };

/** A recommend / rank result as [{ itemId, score }]. */
export const named = (bundle, r) => Array.from(r.items, (it, i) => ({ itemId: bundle.id(it), score: r.scores[i] }));
