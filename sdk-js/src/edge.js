// Edge adapter: a fetch(request, env) handler for edge workers (Cloudflare Workers style) that
// answers /offer, /offer-cart, /recommend, /rank, /track, /shown and /report. The bandit runtime lives per isolate; each
// shopper's session state travels in an encrypted cookie (AES-GCM, key derived from tokenSecret by
// HKDF; refused when tampered with or older than sessionTtlS), or in a key-value store when `kv` is
// given (then the cookie carries only the encrypted session id). Offers come with HMAC-signed tokens that the
// checkout verifies with verifyOfferToken (@disco/sdk/node, or token.js anywhere WebCrypto exists).
import { DiscoError } from './errors.js';
import { Engine, BundleRef, RuntimeRef, MODES, guardrailNames, indices as denseIndices, named, cartLines, cartRecord } from './engine.js';
import { readBundleHeader, readModelSummary, verifyBundle } from './bundle.js';
import { normalizeEvent } from './index.js';
import { Transport } from './transport.js';
import { sealCookie, openCookie, signOfferToken, tokenSecretBytes, derivedKey, userKeyOf } from './token.js';
import { b64urlDecode, b64urlEncode, randomBytes, toBytes, toHex, toU64, collectorOptions } from './util.js';
import { parseHoldout, inHoldout, holdoutDecision, holdoutCart } from './holdout.js';
import { FleetSync } from './sync.js';
import { decisionRecord, eventRecord, outcomeRecord, wireUserId } from './wire.js';

const MAX_COOKIE_VALUE = 3800; // browsers keep ~4096 bytes per cookie (name, value and attributes)
// Sealed cookie length for `n` state bytes: "c1." + base64url(12-byte IV + 4-byte time + 16-byte id + state + 16-byte tag).
const sealedLength = (n) => 3 + Math.ceil(((48 + n) * 4) / 3);
const MAX_BODY = 64 * 1024;
const HTTP = { INVALID_ARGUMENT: 400, UNKNOWN_ITEM: 404, NOT_FOUND: 404, METHOD: 405, DUPLICATE: 409, TOO_LARGE: 413 };

const resolve = async (v, env) => (typeof v === 'function' ? v(env) : v);

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
function errorResponse(e) {
  if (e instanceof DiscoError) {
    return json(HTTP[e.code] ?? 500, { error: { code: e.code, message: e.message } });
  }
  return json(500, { error: { code: 'INTERNAL', message: String(e?.message ?? e) } });
}
function readCookie(request, name) {
  const h = request.headers.get('cookie');
  if (!h) return null;
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/**
 * @param {object} o see edge.d.ts (EdgeOptions)
 * @returns {{ fetch(request: Request, env?: object, ctx?: object): Promise<Response> }}
 */
export function createEdgeHandler(o = {}) {
  if (o.tokenSecret === undefined) throw new DiscoError('INVALID_ARGUMENT', 'tokenSecret is required (signs offer tokens and session cookies)');
  if (o.mode !== undefined && !(o.mode in MODES)) throw new DiscoError('INVALID_ARGUMENT', `mode must be one of ${Object.keys(MODES).join(', ')}`);
  const cookieName = o.cookieName ?? 'disco';
  const ttlS = o.sessionTtlS ?? 30 * 24 * 3600;
  const now = o.now ?? Date.now;
  const cryptoImpl = o.crypto;
  const mode = o.mode ?? 'online';
  const policyVersion = o.policyVersion;
  if (o.userId !== undefined && typeof o.userId !== 'function') throw new DiscoError('INVALID_ARGUMENT', 'userId must be a function (request, env) => the store\'s shopper id (string) or undefined');
  const userIdOf = o.userId;
  let ready = null;
  let startupError = '';
  // Startup (wasm, bundle verification, the cookie-size check) runs once per isolate; a failure is
  // retried by the next request (a KV or network read may be transient) and logged once per
  // distinct reason, so a misconfigured worker says why in its logs, not only in 503 bodies.
  const start = (env) => (ready ??= init(env).then((s) => { startupError = ''; return s; }, (e) => {
    ready = null;
    const why = `${e?.code ?? 'ERROR'}: ${e?.message ?? e}`;
    if (why !== startupError) { startupError = why; console.error(`disco edge: startup failed: ${why}`); }
    throw e;
  }));

  async function init(env) {
    const engine = o.engine ?? await Engine.load(await resolve(o.wasm, env));
    const bytes = toBytes(await resolve(o.bundle, env), 'bundle');
    const publicKey = await resolve(o.publicKey, env);
    const header = o.unsafeSkipVerify ? readBundleHeader(bytes) : await verifyBundle(bytes, publicKey, { crypto: cryptoImpl });
    const summary = readModelSummary(header.payload);
    const bundle = new BundleRef(engine, bytes, { signatureVerified: !o.unsafeSkipVerify });
    const seed = o.seed !== undefined ? toU64(o.seed, 'seed')
      : new DataView(randomBytes(8, cryptoImpl).buffer).getBigUint64(0, true);
    const runtime = new RuntimeRef(engine, bundle, { seed, mode: MODES[mode] });
    const kv = await resolve(o.kv, env);
    if (!kv) {
      // Cookie sessions: refuse now, with the reason, rather than on some requests later.
      const max = runtime.compactStateMaxBytes();
      if (sealedLength(max) > MAX_COOKIE_VALUE) {
        runtime.free();
        bundle.free();
        throw new DiscoError('UNSUPPORTED', `cookie sessions cannot hold this bundle's state (up to ${max} bytes, ${sealedLength(max)} cookie characters with hidden = ${bundle.info.hidden}; a cookie holds ${MAX_COOKIE_VALUE}): pass the kv option to createEdgeHandler`);
      }
    }
    const collector = collectorOptions(await resolve(o.collector, env));
    const transport = collector ? new Transport({ ...collector, crypto: cryptoImpl }) : null;
    let secret = await resolve(o.tokenSecret, env);
    if (secret === undefined || secret === null || secret === '') {
      throw new DiscoError('INVALID_ARGUMENT', 'tokenSecret resolved to nothing: set the secret the tokenSecret option reads (e.g. env.TOKEN_SECRET)');
    }
    secret = tokenSecretBytes(secret); // too short: refused here; bytes: the imported key is cached
    const cookieKey = await derivedKey(secret, 'disco/cookie', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt'], cryptoImpl);
    const us = await resolve(o.userKeySalt, env);
    const userSalt = us != null ? tokenSecretBytes(us, 'userKeySalt') : await derivedKey(secret, 'disco/user-key', { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign'], cryptoImpl);
    const holdoutOpt = await resolve(o.holdout, env);
    const holdout = parseHoldout(holdoutOpt, summary);
    const s = { engine, bundle, bundleBytes: bytes, summary, runtime, transport, secret, cookieKey, userSalt, kv, holdout, holdoutSalt: holdoutOpt?.salt, prev: null, publicKey,
      sendEvents: !!(transport && collector.events) };
    const syncOpts = await resolve(o.sync, env);
    if (syncOpts) {
      s.fleet = new FleetSync(syncOpts, {
        dim: () => s.bundle.info.contextDim,
        importStats: (b) => s.runtime.banditImport(b, false),
        bundleBytes: () => s.bundleBytes,
        swapBundle: (b) => swapBundle(s, b),
      }, { collector, crypto: cryptoImpl, now });
    }
    return s;
  }

  // Hot swap for the isolate: the new bundle is verified first; sessions live in cookies / kv, so
  // the previous bundle is kept to migrate a state saved with it on its shopper's next request.
  async function swapBundle(s, raw) {
    const bytes = toBytes(raw, 'bundle');
    const header = o.unsafeSkipVerify ? readBundleHeader(bytes) : await verifyBundle(bytes, s.publicKey, { crypto: cryptoImpl });
    const summary = readModelSummary(header.payload);
    const holdout = s.holdout ? parseHoldout({ share: s.holdout.share, arm: s.holdout.spec.name, salt: s.holdoutSalt }, summary) : null;
    const nb = new BundleRef(s.engine, bytes, { signatureVerified: !o.unsafeSkipVerify });
    try {
      s.runtime.swapBundle(nb);
    } catch (e) {
      nb.free();
      throw e;
    }
    s.prev?.free();
    s.prev = s.bundle;
    s.bundle = nb;
    s.bundleBytes = bytes;
    s.summary = summary;
    s.holdout = holdout;
  }

  // A state saved under the previous bundle: restore it there (a scratch runtime), swap that runtime
  // to the current bundle (the runtime remaps the session), and reopen it here.
  function migrate(s, state) {
    const tmp = new RuntimeRef(s.engine, s.prev, { seed: 1n, mode: MODES[mode], maxPendingDecisions: 1 });
    let old = null;
    try {
      old = tmp.restoreSession(state);
      tmp.swapBundle(s.bundle);
      return s.runtime.restoreSession(old.save());
    } finally {
      old?.free();
      tmp.free();
    }
  }

  async function openSession(s, request, uid) {
    const raw = readCookie(request, cookieName);
    const sealed = raw ? await openCookie(raw, s.cookieKey, now(), ttlS, cryptoImpl) : null;
    let sid = null;
    let state = null;
    if (sealed && s.kv) {
      if (sealed.length === 16) {
        sid = sealed;
        const stored = await s.kv.get(`disco:session:${toHex(sid)}`);
        if (typeof stored === 'string' && stored) {
          try { state = b64urlDecode(stored); } catch { state = null; }
        }
      }
    } else if (sealed && sealed.length > 16) {
      sid = sealed.subarray(0, 16);
      state = sealed.subarray(16);
    }
    const fresh = !sid;
    // a new session's user key (the id's first 8 bytes): the keyed hash of the shopper id when the
    // request names one (the same on every device), else random
    if (!sid) {
      sid = randomBytes(16, cryptoImpl);
      if (uid) new DataView(sid.buffer).setBigUint64(0, await userKeyOf(uid, s.userSalt, { crypto: cryptoImpl }), true);
    }
    let session = null;
    if (state) {
      try { session = s.runtime.restoreSession(state); } catch (e) {
        if (!(e instanceof DiscoError) || e.code !== 'STATE') throw e;
        session = null;
        if (s.prev) { try { session = migrate(s, state); } catch { session = null; } }
        // else a state from an older, incompatible bundle: start over with the same id
      }
    }
    if (!session) session = s.runtime.createSession(new DataView(sid.buffer, sid.byteOffset).getBigUint64(0, true));
    return { sid, session, fresh };
  }

  async function closeSession(s, ses) {
    let value;
    if (s.kv) {
      const state = ses.session.save(); // full state (format 2): exact, stays server-side
      await s.kv.put(`disco:session:${toHex(ses.sid)}`, b64urlEncode(state), { expirationTtl: ttlS });
      value = await sealCookie(ses.sid, s.cookieKey, now(), cryptoImpl);
    } else {
      // compact state (format 3), bounded: checked at init
      value = await sealCookie(new Uint8Array([...ses.sid, ...ses.session.saveCompact()]), s.cookieKey, now(), cryptoImpl);
    }
    return `${cookieName}=${value}; Path=/; Max-Age=${ttlS}; HttpOnly; Secure; SameSite=Lax`;
  }

  async function params(request, url) {
    if (request.method === 'GET') {
      const q = url.searchParams;
      return {
        item: q.get('item') ?? undefined,
        k: q.has('k') ? Number(q.get('k')) : undefined,
        exclude: q.get('exclude') ? q.get('exclude').split(',') : [],
        events: [],
      };
    }
    const text = await request.text();
    if (text.length > MAX_BODY) throw new DiscoError('TOO_LARGE', `request body over ${MAX_BODY} bytes`);
    let body;
    try { body = text ? JSON.parse(text) : {}; } catch { throw new DiscoError('INVALID_ARGUMENT', 'request body is not JSON'); }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new DiscoError('INVALID_ARGUMENT', 'request body must be a JSON object');
    if (body.events !== undefined && !Array.isArray(body.events)) throw new DiscoError('INVALID_ARGUMENT', 'events must be an array');
    if ((body.events?.length ?? 0) > 100) throw new DiscoError('INVALID_ARGUMENT', 'at most 100 events per request');
    return { ...body, events: body.events ?? [], exclude: body.exclude ?? [] };
  }

  async function handle(request, env, ctx) {
    const s = await start(env);
    if (s.fleet) {
      const pulling = s.fleet.maybePull(); // never awaited here: the request does not wait for it
      if (pulling && ctx?.waitUntil) ctx.waitUntil(pulling);
    }
    const url = new URL(request.url);
    const route = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    if (!['offer', 'offer-cart', 'recommend', 'rank', 'track', 'shown', 'report'].includes(route)) {
      return json(404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}` } });
    }
    if (request.method !== 'POST' && !(request.method === 'GET' && (route === 'offer' || route === 'recommend'))) {
      return json(405, { error: { code: 'METHOD', message: `${request.method} ${route} is not supported` } }, { allow: route === 'offer' || route === 'recommend' ? 'GET, POST' : 'POST' });
    }
    const p = await params(request, url);
    const t = now();
    let result;
    if (route === 'shown' || route === 'report') {
      if (typeof p.decisionId !== 'string') throw new DiscoError('INVALID_ARGUMENT', 'decisionId is required');
      if (route === 'shown') {
        let applied = true;
        try { s.runtime.shown(p.decisionId); } catch (e) { if (e.code !== 'NOT_FOUND') throw e; applied = false; }
        s.transport?.enqueue('activations', { decision_id: p.decisionId, ts_ms: t });
        result = { ok: true, applied };
      } else {
        if (typeof p.converted !== 'boolean') throw new DiscoError('INVALID_ARGUMENT', 'converted must be a boolean');
        const revenue = p.revenue ?? 0;
        const margin = p.margin ?? 0;
        if (!Number.isFinite(revenue) || !Number.isFinite(margin)) throw new DiscoError('INVALID_ARGUMENT', 'revenue and margin must be finite numbers');
        const status = s.runtime.update(p.decisionId, { ts: t, converted: p.converted, revenue, reward: margin });
        s.transport?.enqueue('outcomes', outcomeRecord(p.decisionId, t, p.converted, revenue, margin));
        result = { ok: true, applied: status === 'OK', status };
      }
      const res = json(200, result);
      if (s.transport && ctx?.waitUntil) ctx.waitUntil(s.transport.flush());
      return res;
    }

    const events = p.events.map((e) => normalizeEvent(e, t));
    const indices = events.map((e) => s.bundle.index(e.itemId)); // all validated before any change
    const cart = route === 'offer-cart' ? cartLines(s.bundle, p.cart) : null;
    const uid = userIdOf ? wireUserId(await userIdOf(request, env)) : null;
    const ses = await openSession(s, request, uid);
    try {
      events.forEach((e, i) => ses.session.observe(indices[i], e.type, e.ts, e.price, e.quantity));
      let decision = null;
      if (route === 'offer' || cart) {
        if (!cart && (typeof p.item !== 'string' || !p.item)) throw new DiscoError('INVALID_ARGUMENT', 'item is required');
        const idx = cart ? 0 : s.bundle.index(p.item);
        const userKey = new DataView(ses.sid.buffer, ses.sid.byteOffset).getBigUint64(0, true);
        const price = s.summary.price?.[idx] ?? 0;
        const holdout = inHoldout(s.holdout, userKey);
        let o;
        if (holdout) {
          // a holdout shopper's cart gets arm 0 (no discount)
          o = { ...holdoutDecision(s.holdout, s.summary, price, t, cryptoImpl), item: idx, guardrails: 0, ...(cart && holdoutCart(cart)) };
          ses.session.noteOffer(o.arm, t);
        } else {
          o = ses.session.offer(idx, t, undefined, cart);
        }
        const arm = s.summary.arms[o.arm] ?? { name: String(o.arm), kind: 'percent' };
        const itemId = cart ? undefined : s.bundle.id(o.item);
        result = {
          decisionId: o.decisionId, itemId, arm: o.arm, armName: arm.name, kind: arm.kind, discount: o.discount,
          propensity: o.propensity, expiresAt: o.expiresAt, guardrails: guardrailNames(o.guardrails), mode, holdout, ...o.terms,
        };
        result.token = await signOfferToken(result, s.secret, { crypto: cryptoImpl });
        decision = decisionRecord(o, {
          ts: t, userKey, userId: uid, itemId,
          modelVersion: s.bundle.info.modelVersion, policyVersion, mode: MODES[mode], price, cost: s.summary.cost?.[idx] ?? 0,
        }, { ...(holdout ? { holdout: true } : { context: o.context }), ...cartRecord(o) });
      } else if (route === 'recommend') {
        const k = p.k ?? 10;
        if (!Number.isInteger(k) || k < 1 || k > 100) throw new DiscoError('INVALID_ARGUMENT', 'k must be an integer in 1..100');
        if (!Array.isArray(p.exclude)) throw new DiscoError('INVALID_ARGUMENT', 'exclude must be an array');
        result = { items: named(s.bundle, ses.session.recommend(k, { exclude: denseIndices(s.bundle, p.exclude) })) };
      } else if (route === 'rank') {
        result = { items: ses.session.rankIds(s.bundle, p.itemIds, { exclude: p.exclude }) };
      } else {
        result = { ok: true, tracked: events.length };
      }
      const cookie = await closeSession(s, ses);
      const res = json(200, result, { 'set-cookie': cookie });
      // Logged only now that the shopper gets this answer: a failed request leaves no decision (and
      // no event) behind. Events first: they happened before the decision.
      if (s.sendEvents && events.length) {
        const userKey = new DataView(ses.sid.buffer, ses.sid.byteOffset).getBigUint64(0, true).toString();
        for (const e of events) {
          s.transport.enqueue('events', eventRecord(userKey, e));
        }
      }
      if (decision) s.transport?.enqueue('decisions', decision);
      if (s.transport && ctx?.waitUntil) ctx.waitUntil(s.transport.flush());
      return res;
    } finally {
      ses.session.free();
    }
  }

  return {
    async fetch(request, env = {}, ctx = undefined) {
      try { return await handle(request, env, ctx); } catch (e) { return errorResponse(e); }
    },
    /** One fleet sync now (the sync option): resolves with { bundle, stats, version, bytes, ms }. */
    async sync(env = {}) {
      const s = await start(env);
      if (!s.fleet) throw new DiscoError('STATE', 'sync() needs the sync option of createEdgeHandler');
      return s.fleet.pull();
    },
    /** Sends the queued records now: { ok, sent, queued, dropped, ... } (ok without a collector). */
    async flush(env = {}) {
      const s = await start(env);
      return s.transport ? s.transport.flush() : { ok: true, sent: 0, queued: 0, dropped: 0, droppedByKind: { events: 0, decisions: 0, outcomes: 0, activations: 0 }, error: null };
    },
    /** Stops fleet sync and the transport's timers (the queue is not flushed: call flush() first). */
    async close() {
      if (!ready) return;
      const s = await ready.catch(() => null);
      s?.fleet?.stop();
      s?.transport?.close();
    },
    /** The isolate's runtime facts (after the first request). */
    async info(env = {}) {
      const s = await start(env);
      return { ...s.bundle.info, simd: s.engine.simd, mode, cookieStateMaxBytes: s.kv ? null : s.runtime.compactStateMaxBytes() };
    },
  };
}
