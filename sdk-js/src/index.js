// @disco/sdk: personalized offers decided next to the shopper (browser, Node, edge workers).
// This entry has no Node-only APIs; @disco/sdk/node adds file loading and Node defaults.
import { DiscoError } from './errors.js';
import { Engine, BundleRef, RuntimeRef, EVENT_TYPES, MODES, guardrailNames, indices, named, cartLines, cartRecord } from './engine.js';
import { readBundleHeader, readModelSummary, verifyBundle, SCHEMA_MAJOR } from './bundle.js';
import { Transport, WriteKeyTransport } from './transport.js';
import { signOfferToken, tokenSecretBytes, userKeyOf } from './token.js';
import { fnv1a64, toU64, toBytes, randomBytes, typeName, utf8, fromUtf8, decisionIdFromHex, collectorOptions } from './util.js';
import { hasSimd } from './wasm.js';
import { decisionRecord, eventRecord, outcomeRecord, wireUserId } from './wire.js';
import { parseHoldout, inHoldout, holdoutDecision, holdoutCart } from './holdout.js';
import { FleetSync } from './sync.js';

export { DiscoError, Engine, Transport, WriteKeyTransport, signOfferToken, verifyBundle, readBundleHeader, hasSimd, fnv1a64, userKeyOf, SCHEMA_MAJOR };

const STATE_MAGIC = 0x53435344; // "DSCS" little-endian
const STATE_VERSION = 1;

function randomU64(cryptoImpl) {
  const b = randomBytes(8, cryptoImpl);
  return new DataView(b.buffer).getBigUint64(0, true);
}

// pure: not kept in the edge build, which imports normalizeEvent from here
const EMPTY_FLUSH = /* @__PURE__ */ Object.freeze({ ok: true, sent: 0, queued: 0, dropped: 0, droppedByKind: /* @__PURE__ */ Object.freeze({ events: 0, decisions: 0, outcomes: 0, activations: 0 }), error: null });

/** Validates an event; returns { itemId, type, ts, price, quantity } with defaults applied. */
export function normalizeEvent(event, now) {
  if (!event || typeof event !== 'object' || Array.isArray(event)) {
    throw new DiscoError('INVALID_ARGUMENT', `event must be an object, got ${typeName(event)}`);
  }
  let itemId = event.itemId ?? event.item_id;
  if (typeof itemId === 'number' && Number.isSafeInteger(itemId)) itemId = String(itemId);
  if (typeof itemId !== 'string' || !itemId) {
    throw new DiscoError('INVALID_ARGUMENT', `event.itemId must be a non-empty string, got ${typeName(itemId)}`);
  }
  const t = event.type ?? 'view';
  const type = typeof t === 'number' ? t : EVENT_TYPES[t];
  if (!Number.isInteger(type) || type < 0 || type > 4) {
    throw new DiscoError('INVALID_ARGUMENT', `event.type must be one of ${Object.keys(EVENT_TYPES).join(', ')}, got ${JSON.stringify(t)}`);
  }
  const price = event.price ?? 0;
  if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
    throw new DiscoError('INVALID_ARGUMENT', `event.price must be a finite number >= 0, got ${JSON.stringify(event.price)}`);
  }
  const quantity = event.quantity ?? 1;
  if (!Number.isInteger(quantity) || Math.abs(quantity) > 2 ** 31 - 1) {
    throw new DiscoError('INVALID_ARGUMENT', `event.quantity must be an integer, got ${JSON.stringify(event.quantity)}`);
  }
  const ts = event.ts ?? event.ts_ms ?? now;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) {
    throw new DiscoError('INVALID_ARGUMENT', `event.ts must be milliseconds since the epoch, got ${JSON.stringify(ts)}`);
  }
  return { itemId, type, ts, price, quantity };
}

// engine: an Engine or a promise of one (still compiling). The signature check (WebCrypto: the
// SHA-256 of the payload runs off the main thread where the platform allows) overlaps the module's
// compilation and the bundle's load into wasm (memory-safe parsing of untrusted bytes); nothing
// is used, and everything is freed, unless the signature verifies.
async function loadBundle(engine, bundle, o) {
  engine = Promise.resolve(engine);
  engine.catch(() => {}); // awaited below; a failed compile must not be an unhandled rejection meanwhile
  if (bundle instanceof Promise) bundle = await bundle;
  if (typeof Response !== 'undefined' && bundle instanceof Response) {
    if (!bundle.ok) throw new DiscoError('INVALID_ARGUMENT', `bundle: HTTP ${bundle.status} fetching ${bundle.url || 'the bundle'}`);
    bundle = await bundle.arrayBuffer();
  }
  const bytes = toBytes(bundle, 'bundle');
  if (o.unsafeSkipVerify) {
    const header = readBundleHeader(bytes);
    const summary = readModelSummary(header.payload);
    engine = await engine;
    return { engine, ref: new BundleRef(engine, bytes), summary, bytes };
  }
  const verifying = verifyBundle(bytes, o.publicKey, o);
  verifying.catch(() => {}); // observed below; no unhandled rejection meanwhile
  engine = await engine;
  let ref;
  try {
    ref = new BundleRef(engine, bytes, { signatureVerified: true });
  } catch (e) {
    await verifying; // a signature error explains a bad bundle better than its load error
    throw e;
  }
  let header;
  try {
    header = await verifying;
  } catch (e) {
    ref.free();
    throw e;
  }
  return { engine, ref, summary: readModelSummary(header.payload), bytes };
}

export class Disco {
  /**
   * Loads disco.wasm and a signed bundle, verifies the signature, and opens one shopper session.
   * See index.d.ts (DiscoOptions) for every option.
   */
  static async create(opts = {}) {
    return this._open(opts, null);
  }

  /** Reopens a Disco from saveState() bytes (same bundle, or one the runtime accepts). */
  static async restore(opts = {}) {
    if (!opts.state) throw new DiscoError('INVALID_ARGUMENT', 'restore needs { state } from saveState()');
    return this._open(opts, parseState(toBytes(opts.state, 'state')));
  }

  static async _open(o, saved) {
    if (o.mode !== undefined && !(o.mode in MODES)) {
      throw new DiscoError('INVALID_ARGUMENT', `mode must be one of ${Object.keys(MODES).join(', ')}, got ${JSON.stringify(o.mode)}`);
    }
    // A page holds no secret: anyone can read it there (README, "Browser").
    if (globalThis.document && (o.tokenSecret != null || o.collector?.key != null)) {
      throw new DiscoError('INVALID_ARGUMENT', 'a page must not hold tokenSecret or collector.key (anyone can read them): give it collector.writeKey, the site\'s public write key, and get signed offers from your server or edge');
    }
    if (!saved && o.userKey === undefined && o.userId !== undefined) {
      if (o.userKeySalt == null) throw new DiscoError('INVALID_ARGUMENT', 'userId needs userKeySalt (the site\'s salt, >= 16 bytes, that hashes shopper ids into user keys), or pass userKey');
      o = { ...o, userKey: await userKeyOf(o.userId, o.userKeySalt, o) };
    }
    // refused now, not by every offer(); kept as bytes so the imported HMAC key is cached
    if (o.tokenSecret !== undefined && o.tokenSecret !== null) o = { ...o, tokenSecret: tokenSecretBytes(o.tokenSecret) };
    const { engine, ref, summary, bytes } = await loadBundle(o.engine ?? Engine.load(o.wasm), o.bundle, o);
    return new this(engine, ref, summary, o, saved, bytes);
  }

  constructor(engine, bundle, summary, o, saved, bundleBytes) {
    this.engine = engine;
    this.crypto = o.crypto;
    this.now = o.now ?? Date.now;
    this.mode = saved?.meta.mode ?? o.mode ?? 'online';
    this.seed = saved ? BigInt(saved.meta.seed) : (o.seed !== undefined ? toU64(o.seed, 'seed') : randomU64(o.crypto));
    this.userKey = saved ? BigInt(saved.meta.userKey)
      : o.userKey !== undefined ? toU64(o.userKey, 'userKey') : randomU64(o.crypto);
    this.tokenSecret = o.tokenSecret;
    // user_id on the wire (CONTRACTS §2): the store's own shopper id when given and sendable
    const uid = saved?.meta.userId ?? o.userId;
    this._userIdWire = wireUserId(uid);
    this.policyVersion = o.policyVersion;
    this.sessionId = o.sessionId ?? '';
    this._verifyOpts = { publicKey: o.publicKey, unsafeSkipVerify: o.unsafeSkipVerify, crypto: o.crypto };
    this.bundle = bundle;
    this.summary = summary;
    try {
      this.runtime = new RuntimeRef(engine, bundle, { seed: this.seed, mode: MODES[this.mode], maxPendingDecisions: o.maxPendingDecisions ?? 4096 });
      if (saved) {
        this.runtime.restore(saved.runtime);
        this.session = this.runtime.restoreSession(saved.session);
      } else {
        this.session = this.runtime.createSession(this.userKey);
      }
      this.holdout = parseHoldout(o.holdout, summary);
      this._holdoutSalt = o.holdout?.salt;
      this.inHoldout = inHoldout(this.holdout, this.userKey);
      const c = collectorOptions(o.collector);
      this.sendEvents = !!c?.events;
      this.transport = o.transport ?? (c ? new (c.writeKey ? WriteKeyTransport : Transport)({ ...c, storage: o.storage ?? c.storage, crypto: o.crypto }) : null);
      this._bundleBytes = bundleBytes ?? null;
      if (o.sync) {
        this._fleet = new FleetSync(o.sync, {
          dim: () => this.bundle.info.contextDim,
          importStats: (b) => this.runtime.banditImport(b, false),
          bundleBytes: () => this._bundleBytes,
          swapBundle: (b) => this.swapBundle(b),
        }, { collector: o.collector, crypto: o.crypto, now: this.now });
        if (o.sync.auto !== false) this._fleet.start();
      }
    } catch (e) {
      this.session?.free();
      this.runtime?.free();
      bundle.free();
      throw e;
    }
  }

  /** Bundle and build facts: model version, dimensions, SIMD or not. */
  get info() {
    return { ...this.bundle.info, simd: this.engine.simd, mode: this.mode, holdout: this.inHoldout };
  }

  // The collector's decision record (schemas/events.fbs Decision) of decision `d` on item index `idx`.
  _record(d, idx, ts, extra) {
    return decisionRecord(d, {
      ts, userKey: this.userKey, userId: this._userIdWire, itemId: this.bundle.id(idx), modelVersion: this.bundle.info.modelVersion,
      policyVersion: this.policyVersion, mode: MODES[this.mode], price: this.summary.price?.[idx] ?? 0, cost: this.summary.cost?.[idx] ?? 0,
    }, extra);
  }

  _alive() {
    if (!this.session) throw new DiscoError('STATE', 'this Disco was closed');
  }

  /** Advances the shopper's state by one event: { type, itemId, price?, quantity?, ts? }. */
  track(event) {
    this._alive();
    const e = normalizeEvent(event, this.now());
    const idx = this.bundle.index(e.itemId);
    this.session.observe(idx, e.type, e.ts, e.price, e.quantity);
    if (this.sendEvents && this.transport) {
      this.transport.enqueue('events', eventRecord(this.userKey, e, this.sessionId));
    }
  }

  /** Top-k items for this shopper: [{ itemId, score }]. Unknown ids in `exclude` are ignored. */
  recommend({ k = 10, exclude = [], excludeSeen = true, includeOutOfStock = false, category = -1 } = {}) {
    this._alive();
    if (!Number.isInteger(k) || k < 1 || k > 10000) throw new DiscoError('INVALID_ARGUMENT', `k must be an integer in 1..10000, got ${JSON.stringify(k)}`);
    if (!Array.isArray(exclude)) throw new DiscoError('INVALID_ARGUMENT', `exclude must be an array of item ids, got ${typeName(exclude)}`);
    if (!Number.isInteger(category)) throw new DiscoError('INVALID_ARGUMENT', 'category must be an integer (-1 = any)');
    return named(this.bundle, this.session.recommend(k, { excludeSeen, includeOutOfStock, exclude: indices(this.bundle, exclude), category }));
  }

  /**
   * Orders a list the page already has (search results, a category page) by the scores and
   * filters of recommend: [{ itemId, score }], best first, each id once, the filtered ones left out;
   * ids the bundle does not know follow in input order with score null.
   */
  rank(itemIds, { exclude = [], excludeSeen = true, includeOutOfStock = false, category = -1 } = {}) {
    this._alive();
    if (!Number.isInteger(category)) throw new DiscoError('INVALID_ARGUMENT', 'category must be an integer (-1 = any)');
    return this.session.rankIds(this.bundle, itemIds, { excludeSeen, includeOutOfStock, exclude, category });
  }

  /**
   * The model's probability that this shopper buys (0..1; disco_purchase_probability). Not an
   * offer's `propensity`, which is the logging probability of the arm offered.
   */
  propensity() {
    this._alive();
    return this.session.purchaseProbability();
  }

  /** Decides an offer for itemId without signing a token (hot loops). */
  offerSync(itemId, opts) {
    const { offer, record } = this._decide(itemId, opts);
    this.transport?.enqueue('decisions', record);
    return offer;
  }

  // The decision and its collector record; the caller queues the record once the offer is returned.
  // cart (cartLines()): a cart decision, logged as item "@cart" priced at the cart's value and cost.
  _decide(itemId, { now, decisionId } = {}, cart) {
    this._alive();
    const idx = cart ? 0 : this.bundle.index(typeof itemId === 'number' ? String(itemId) : itemId);
    const ts = now ?? this.now();
    if (this.inHoldout) return this._holdoutOffer(idx, ts, cart);
    const o = this.session.offer(idx, ts, decisionId, cart);
    const arm = this.summary.arms[o.arm] ?? { name: String(o.arm), kind: 'percent' };
    const offer = {
      decisionId: o.decisionId, itemId: cart ? undefined : this.bundle.id(o.item), arm: o.arm, armName: arm.name, kind: arm.kind,
      discount: o.discount, propensity: o.propensity, purchasePropensity: o.purchasePropensity,
      expiresAt: o.expiresAt, banditArm: o.banditArm, guardrails: guardrailNames(o.guardrails), mode: this.mode,
      holdout: false, ...o.terms,
    };
    return { offer, record: this._record(o, idx, ts, { context: o.context, ...cartRecord(o) }) };
  }

  // A holdout shopper's offer: the baseline arm by rule (holdout.js), logged with holdout: true; a
  // cart's: arm 0 (no discount).
  _holdoutOffer(idx, ts, cart) {
    const price = this.summary.price?.[idx] ?? 0;
    const d = holdoutDecision(this.holdout, this.summary, price, ts, this.crypto);
    if (cart) Object.assign(d, holdoutCart(cart));
    this.session.noteOffer(d.arm, ts); // the shopper's context counts the offer it got
    const arm = this.summary.arms[d.arm];
    const offer = {
      decisionId: d.decisionId, itemId: cart ? undefined : this.bundle.id(idx), arm: d.arm, armName: arm.name, kind: arm.kind,
      discount: d.discount, propensity: 1, purchasePropensity: this.session.purchaseProbability(), expiresAt: d.expiresAt,
      banditArm: d.arm, guardrails: [], mode: this.mode, holdout: true, ...d.terms,
    };
    return { offer, record: this._record(d, idx, ts, { propensity: 1, holdout: true, ...cartRecord(d) }) };
  }

  /** Decides an offer: { decisionId, arm, discount, propensity, expiresAt, token? }. */
  async offer(itemId, opts) {
    return this._signed(this._decide(itemId, opts));
  }

  async _signed({ offer, record }) {
    if (this.tokenSecret) offer.token = await signOfferToken(offer, this.tokenSecret, { crypto: this.crypto });
    this.transport?.enqueue('decisions', record); // only an offer that reached the caller is logged
    return offer;
  }

  /**
   * Decides a cart-level offer (the bundle's cart-scope arms: a coupon with a minimum spend, free
   * shipping over a threshold) for cart [{ itemId, quantity }]: the offer with the cart's terms
   * (scope 'cart', cart, amount, minSpend, cartValue, eligibleValue) and, with tokenSecret, a token
   * signed over them.
   */
  async offerCart(cart, opts) {
    this._alive();
    return this._signed(this._decide(null, opts, cartLines(this.bundle, cart)));
  }

  /** Deferred activation: the page displayed the offer (only shown offers train the bandit). */
  shown(decisionId, { ts } = {}) {
    this._alive();
    if (!this.inHoldout) this.runtime.shown(decisionId);
    else decisionIdFromHex(decisionId); // validates the id; holdout decisions never train the bandit
    this.transport?.enqueue('activations', { decision_id: decisionId, ts_ms: ts ?? this.now() });
  }

  /** Outcome of a decision; returns { applied, status } (applied = trained the bandit). */
  report(decisionId, { converted, revenue = 0, margin = 0, ts } = {}) {
    this._alive();
    if (typeof converted !== 'boolean') throw new DiscoError('INVALID_ARGUMENT', `report: converted must be a boolean, got ${typeName(converted)}`);
    for (const [k, v] of [['revenue', revenue], ['margin', margin]]) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new DiscoError('INVALID_ARGUMENT', `report: ${k} must be a finite number, got ${JSON.stringify(v)}`);
    }
    const t = ts ?? this.now();
    if (this.inHoldout) decisionIdFromHex(decisionId);
    // margin is the runtime's reward (disco_outcome.reward): what the decision made, converted or not
    const status = this.inHoldout ? 'HOLDOUT' : this.runtime.update(decisionId, { ts: t, converted, revenue, reward: margin });
    this.transport?.enqueue('outcomes', outcomeRecord(decisionId, t, converted, revenue, margin));
    return { applied: status === 'OK', status };
  }

  /**
   * The offer expired unredeemed: reported as not converted (margin 0), and the budget the runtime
   * reserved for it is given back (disco_offer_expired). Returns { applied, status } as report().
   */
  expired(decisionId, { ts } = {}) {
    this._alive();
    const t = ts ?? this.now();
    if (this.inHoldout) decisionIdFromHex(decisionId);
    const status = this.inHoldout ? 'HOLDOUT' : this.runtime.expired(decisionId);
    this.transport?.enqueue('outcomes', outcomeRecord(decisionId, t, false, 0, 0));
    return { applied: status === 'OK', status };
  }

  /**
   * Sends what the transport holds. Resolves with { ok, sent, queued, dropped, droppedByKind, error }
   * since the previous flush(): ok = everything delivered and nothing dropped (no collector: ok).
   */
  flush() {
    return this.transport ? this.transport.flush() : Promise.resolve({ ...EMPTY_FLUSH });
  }

  /** Runtime (bandit, guardrails) + session state + identity, as bytes for Disco.restore. */
  saveState() {
    this._alive();
    const rt = this.runtime.save();
    const ss = this.session.save();
    const meta = utf8(JSON.stringify({ seed: this.seed.toString(), userKey: this.userKey.toString(), mode: this.mode, modelVersion: this.bundle.info.modelVersion, ...(this._userIdWire ? { userId: this._userIdWire } : {}) }));
    const out = new Uint8Array(20 + rt.length + ss.length + meta.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, STATE_MAGIC, true);
    dv.setUint32(4, STATE_VERSION, true);
    dv.setUint32(8, rt.length, true);
    dv.setUint32(12, ss.length, true);
    dv.setUint32(16, meta.length, true);
    out.set(rt, 20);
    out.set(ss, 20 + rt.length);
    out.set(meta, 20 + rt.length + ss.length);
    return out;
  }

  /** Hot swap to a new signed bundle; the session and (if compatible) the bandit carry over. */
  async swapBundle(bundle) {
    this._alive();
    const { ref, summary, bytes } = await loadBundle(this.engine, bundle, this._verifyOpts);
    let holdout;
    try {
      holdout = this.holdout ? parseHoldout({ share: this.holdout.share, arm: this.holdout.spec.name, salt: this._holdoutSalt }, summary) : null;
      this.runtime.swapBundle(ref);
    } catch (e) {
      ref.free();
      throw e;
    }
    const old = this.bundle;
    this.bundle = ref;
    this.summary = summary;
    this.holdout = holdout;
    this._bundleBytes = bytes;
    old.free();
    return this.info;
  }

  /** Bytes of wasm memory held by the runtime and the session. */
  memoryBytes() {
    this._alive();
    return { runtime: this.runtime.memoryBytes(), session: this.session.memoryBytes(), wasmHeap: this.engine.memory.buffer.byteLength };
  }

  /**
   * One fleet sync now (the `sync` option): fleet bandit statistics and, when the collector serves
   * a new one, the bundle (verified, hot-swapped keeping the session). Resolves with
   * { bundle, stats, version, bytes, ms }; rejects with a DiscoError (the background loop backs off).
   */
  sync() {
    this._alive();
    if (!this._fleet) return Promise.reject(new DiscoError('STATE', 'sync() needs the sync option: Disco.create({ sync: { url, everyMs } })'));
    return this._fleet.pull();
  }

  /** Fleet sync counters: { pulls, failures, statsImports, bundleSwaps, bytes, lastVersion } (null without sync). */
  get syncStats() { return this._fleet ? { ...this._fleet.stats } : null; }

  /** Frees wasm memory; persists the transport queue (it is not flushed: call flush() first). */
  close() {
    this._fleet?.stop();
    this.transport?.close();
    this.session?.free();
    this.runtime?.free();
    this.bundle?.free();
    this.session = this.runtime = this.bundle = null;
  }
}

function parseState(b) {
  if (b.length < 20) throw new DiscoError('STATE', 'saved state is truncated');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== STATE_MAGIC) throw new DiscoError('STATE', 'not a disco saved state (bad magic)');
  const v = dv.getUint32(4, true);
  if (v !== STATE_VERSION) throw new DiscoError('STATE', `saved state version ${v} is not supported (expected ${STATE_VERSION})`);
  const a = dv.getUint32(8, true);
  const s = dv.getUint32(12, true);
  const m = dv.getUint32(16, true);
  if (20 + a + s + m !== b.length) throw new DiscoError('STATE', 'saved state is truncated or has trailing bytes');
  let meta;
  // a damaged seed, userKey or mode is refused here, not thrown raw by BigInt or MODES later
  try {
    meta = JSON.parse(fromUtf8(b.subarray(20 + a + s)));
    toU64(meta.seed); toU64(meta.userKey);
    if (meta.mode != null && !(MODES[meta.mode] >= 0)) throw 0;
  } catch { throw new DiscoError('STATE', 'saved state metadata is not valid'); }
  return { runtime: b.slice(20, 20 + a), session: b.slice(20 + a, 20 + a + s), meta };
}
