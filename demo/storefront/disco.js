// disco market's SDK wiring: the part of the storefront a store copies (demo/README.md, "The SDK
// wiring"). No DOM, no views: app.js renders the pages and calls these. What it does:
//   start      Disco.create with both wasm builds (SIMD128 when the browser has it), the bundle from
//              the collector verified against the public key, a per-visitor userId, the batching
//              transport to the collector (offline queue in localStorage); or Disco.restore of the
//              shopper's saved state when it belongs to the same bundle.
//   track      every shopper event (view, click, cart, remove, purchase), the state saved after it
//   recommend  the shopper's next items
//   offer      a decision per item, reused while unexpired (revisits make no new decision)
//   shown      the offer was displayed: deferred activation (a 0% decision too: the bandit learns
//              from the no-discount arm)
//   report     after checkout, the outcome of each decision behind a bought line; then flush
// If start() throws (bundle missing, tampered, unsigned, newer schema; wasm cannot load), the
// store runs without it: every method below is then a no-op and offer() returns null.
import { Disco, DiscoError } from './sdk/index.js';

export { DiscoError };

/** The page's persistent values (JSON in localStorage under "disco-demo."; memory only in private mode). */
export const kv = {
  get(k, d) { try { return JSON.parse(localStorage.getItem(`disco-demo.${k}`)) ?? d; } catch { return d; } },
  set(k, v) { try { localStorage.setItem(`disco-demo.${k}`, JSON.stringify(v)); } catch { /* private mode: in memory only */ } },
};

/** The store's own id of this visitor (the decisions' user_id), kept across visits. */
function visitorId() {
  let v = kv.get('visitor', null);
  if (!v) { v = `v-${crypto.getRandomValues(new Uint32Array(2)).join('')}`; kv.set('visitor', v); }
  return v;
}

const b64 = {
  enc: (u8) => btoa(String.fromCharCode(...u8)),
  dec: (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)),
};

/**
 * The shop's disco. cfg: config.json ({ bundleUrl, publicKey, bundleEtag, collectorUrl, apiKey,
 * siteSecret, demoTokenSecret }); wasmUrls: { simd, plain }; onTransportError(e): a batch the
 * collector refused or could not take.
 */
export function createShopDisco({ cfg, wasmUrls, onTransportError }) {
  const shop = {
    /** the SDK's Disco once start() succeeded, else null */
    disco: null,
    /** itemId -> the offer decided for it (unexpired; kept across reloads) */
    offers: new Map(kv.get('offers', [])),

    async start() {
      const res = await fetch(cfg.bundleUrl, { cache: 'no-cache' });
      if (!res.ok) throw new DiscoError('NOT_FOUND', `no bundle at ${cfg.bundleUrl} (HTTP ${res.status})`);
      const bundle = new Uint8Array(await res.arrayBuffer());
      const opts = {
        wasm: wasmUrls,
        bundle,
        publicKey: cfg.publicKey,
        userId: visitorId(),
        sessionId: `s-${Date.now().toString(36)}`,
        // Demo only (demo/README.md, "Trust"): a production page gets its offers from a server or
        // edge that holds the token secret; the page never sees it.
        tokenSecret: cfg.demoTokenSecret,
        storage: localStorage,
        collector: { url: cfg.collectorUrl, key: cfg.siteSecret, keyId: cfg.apiKey, events: true, flushIntervalMs: 1500, onError: onTransportError },
      };
      const saved = kv.get('state', null);
      if (saved && saved.model === cfg.bundleEtag) {
        try { shop.disco = await Disco.restore({ ...opts, state: b64.dec(saved.bytes) }); return shop.disco; } catch (e) {
          console.warn('disco: saved shopper state not restored, starting fresh:', e.message);
        }
      }
      shop.disco = await Disco.create(opts);
      return shop.disco;
    },

    /** Disco could not start: no offers (the ones kept from before no longer count). */
    off() { shop.offers.clear(); },

    /** The shopper's state, tied to the bundle's hash (restored by start() after a reload). */
    save() {
      if (!shop.disco) return;
      try { kv.set('state', { model: cfg.bundleEtag, bytes: b64.enc(shop.disco.saveState()) }); } catch { /* quota */ }
    },

    /** One event ({ type, itemId, price, quantity }); false when the item is not in the model's catalog. */
    track(event) {
      if (!shop.disco) return true;
      try {
        shop.disco.track(event);
        shop.save();
        return true;
      } catch (e) {
        if (!(e instanceof DiscoError && e.code === 'UNKNOWN_ITEM')) throw e;
        return false;
      }
    },

    /** Up to k item ids for this shopper (null when disco is off). */
    recommend(k, exclude = []) {
      if (!shop.disco) return null;
      return shop.disco.recommend({ k, exclude }).map((r) => r.itemId);
    },

    /** The shopper's offer for an item: reused while it is valid, else decided now by the bandit. */
    async offer(itemId) {
      if (!shop.disco) return null;
      const now = Date.now();
      const prev = shop.offers.get(itemId);
      if (prev && prev.expiresAt > now + 5000) return prev;
      try {
        const o = await shop.disco.offer(itemId);
        const keep = {
          decisionId: o.decisionId, itemId: o.itemId, arm: o.arm, armName: o.armName, kind: o.kind, discount: o.discount,
          propensity: o.propensity, purchasePropensity: o.purchasePropensity, expiresAt: o.expiresAt,
          banditArm: o.banditArm, guardrails: o.guardrails, mode: o.mode, token: o.token, shown: false,
        };
        shop.offers.set(itemId, keep);
        shop.persistOffers();
        shop.save();
        return keep;
      } catch (e) {
        if (e instanceof DiscoError && e.code === 'UNKNOWN_ITEM') return null;
        throw e;
      }
    },

    /** The offer is on screen: activate it (once). */
    shown(offer) {
      if (!offer || offer.shown || !shop.disco) return;
      try { shop.disco.shown(offer.decisionId); } catch (e) {
        if (!(e instanceof DiscoError && e.code === 'NOT_FOUND')) throw e; // a decision from before a reload
      }
      offer.shown = true;
      shop.persistOffers();
      shop.save();
    },

    /** The outcome of a decision behind a bought line: { decisionId, applied, status }. */
    report(decisionId, { revenue, margin }) {
      if (!shop.disco || !decisionId) return null;
      try {
        const r = shop.disco.report(decisionId, { converted: true, revenue, margin });
        return { decisionId, applied: r.applied, status: r.status };
      } catch (e) {
        return { decisionId, applied: false, status: e.code ?? 'ERROR' };
      }
    },

    /** Sends what the transport holds now; true when the collector acknowledged it (or disco is off). */
    async flush() {
      const ok = shop.disco ? (await shop.disco.flush()).ok : true;
      shop.save();
      return ok;
    },

    /** Forgets the offers of these items (bought: the next visit gets a new decision). */
    forget(itemIds) {
      for (const id of itemIds) shop.offers.delete(id);
      shop.persistOffers();
    },

    persistOffers() {
      const now = Date.now();
      for (const [k, o] of shop.offers) if (o.expiresAt <= now) shop.offers.delete(k);
      kv.set('offers', [...shop.offers]);
    },
  };
  return shop;
}
