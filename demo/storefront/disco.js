// disco market's SDK wiring: the part of the storefront a store copies (demo/README.md, "The SDK
// wiring"). No DOM, no views: app.js renders the pages and calls these. The page holds no secret:
// what it decides itself stays in the tab, and what the checkout must trust (an offer's discount,
// with its signed token) is decided by the edge worker in front of the shop, which holds the secret.
//   start      Disco.create in the tab with both wasm builds (SIMD128 when the browser has it), the
//              bundle from the shop verified against the public key, no collector (nothing of the
//              tab's is sent anywhere); or Disco.restore of the shopper's saved state when it
//              belongs to the same bundle.
//   track      every shopper event (view, click, cart, remove, purchase) into the tab's model, the
//              state saved after it; also kept for the edge's next offer request (its session)
//   recommend  the shopper's next items, in the tab
//   offer      POST /offer to the edge worker: its bandit decides, it signs the token; reused
//              while unexpired (revisits make no new decision)
//   offerCart  POST /offer-cart with the cart's lines: the edge's cart decision (a site-wide coupon,
//              e.g. 10 % off orders over 50, or free shipping over a minimum), signed; reused while
//              the cart is the same and the coupon unexpired
//   shown      POST /shown: the offer was displayed, deferred activation (a 0% decision too)
//   report     after checkout, POST /report per bought line: the outcome, sent on by the edge
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

/** POST to the edge worker; resolves its JSON answer or throws a DiscoError with its message. */
async function edge(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
  const out = await res.json().catch(() => ({}));
  if (!res.ok) throw new DiscoError(out.error?.code ?? 'NETWORK', out.error?.message ?? `HTTP ${res.status} from ${url}`);
  return out;
}

/**
 * The shop's disco. cfg: config.json ({ bundleUrl, publicKey, bundleEtag, edge: { offer, shown,
 * report } }); wasmUrls: { simd, plain }; onEdgeError(e): an edge request that failed.
 */
export function createShopDisco({ cfg, wasmUrls, onEdgeError }) {
  // events the edge's session has not seen yet (sent with the next offer request)
  let unsent = kv.get('unsent', []);
  const shop = {
    /** the SDK's Disco once start() succeeded, else null */
    disco: null,
    /** itemId -> the offer decided for it (unexpired; kept across reloads) */
    offers: new Map(kv.get('offers', [])),
    /** the cart's coupon (offerCart) with the key of the cart it was made for, or null */
    cartOffer: kv.get('cartOffer', null),

    async start() {
      const res = await fetch(cfg.bundleUrl, { cache: 'no-cache' });
      if (!res.ok) throw new DiscoError('NOT_FOUND', `no bundle at ${cfg.bundleUrl} (HTTP ${res.status})`);
      const bundle = new Uint8Array(await res.arrayBuffer());
      const opts = {
        wasm: wasmUrls,
        bundle,
        publicKey: cfg.publicKey,
        userId: visitorId(),
        // the tab's user key: a keyed hash of the visitor id (the salt is public: README "User keys";
        // the id is random, so it is a pseudonym anyway)
        userKeySalt: cfg.userKeySalt,
        sessionId: `s-${Date.now().toString(36)}`,
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
    off() { shop.offers.clear(); shop.cartOffer = null; },

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
        unsent.push({ ...event, ts: Date.now() });
        unsent = unsent.slice(-100);
        kv.set('unsent', unsent);
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
        const events = unsent;
        const o = await edge(cfg.edge.offer, { item: itemId, events });
        unsent = unsent.slice(events.length);
        kv.set('unsent', unsent);
        const keep = {
          decisionId: o.decisionId, itemId: o.itemId, arm: o.arm, armName: o.armName, kind: o.kind, discount: o.discount,
          propensity: o.propensity, purchasePropensity: shop.disco.propensity(), expiresAt: o.expiresAt,
          banditArm: o.arm, guardrails: o.guardrails, mode: o.mode, token: o.token, shown: false,
        };
        shop.offers.set(itemId, keep);
        shop.persistOffers();
        shop.save();
        return keep;
      } catch (e) {
        if (e instanceof DiscoError && e.code === 'UNKNOWN_ITEM') return null;
        onEdgeError?.(e);
        return null; // no offer (the edge is unreachable): list price
      }
    },

    /** The cart's coupon ([{ itemId, quantity }]): reused while the cart is unchanged and it is valid. */
    async offerCart(lines) {
      if (!shop.disco || !lines.length) return null;
      const key = JSON.stringify([...lines].map((l) => [l.itemId, l.quantity]).sort());
      const prev = shop.cartOffer;
      if (prev && prev.key === key && prev.expiresAt > Date.now() + 5000) return prev;
      try {
        const events = unsent;
        const o = await edge(cfg.edge.offerCart, { cart: lines, events });
        unsent = unsent.slice(events.length);
        kv.set('unsent', unsent);
        shop.cartOffer = {
          key, decisionId: o.decisionId, arm: o.arm, armName: o.armName, kind: o.kind, discount: o.discount, amount: o.amount,
          minSpend: o.minSpend, cartValue: o.cartValue, eligibleValue: o.eligibleValue, propensity: o.propensity,
          expiresAt: o.expiresAt, guardrails: o.guardrails, token: o.token, shown: false,
        };
        kv.set('cartOffer', shop.cartOffer);
        return shop.cartOffer;
      } catch (e) {
        onEdgeError?.(e);
        return null; // no coupon (the edge is unreachable)
      }
    },

    /** The offer is on screen: activate it at the edge (once). */
    async shown(offer) {
      if (!offer || offer.shown || !shop.disco) return;
      offer.shown = true;
      shop.persistOffers();
      if (offer === shop.cartOffer) kv.set('cartOffer', offer);
      try { await edge(cfg.edge.shown, { decisionId: offer.decisionId }); } catch (e) { onEdgeError?.(e); }
    },

    /**
     * The outcome of a decision behind a bought line, through the edge (its bandit learns, it sends
     * the outcome on, signed): { decisionId, applied, status, delivered }.
     */
    async report(decisionId, { revenue, margin }) {
      if (!shop.disco || !decisionId) return null;
      try {
        const r = await edge(cfg.edge.report, { decisionId, converted: true, revenue, margin });
        return { decisionId, applied: r.applied, status: r.status, delivered: r.delivered };
      } catch (e) {
        onEdgeError?.(e);
        return { decisionId, applied: false, status: e.code ?? 'ERROR', delivered: false };
      }
    },

    /** Forgets the offers of these items (bought: the next visit gets a new decision). */
    forget(itemIds) {
      for (const id of itemIds) shop.offers.delete(id);
      shop.cartOffer = null;
      kv.set('cartOffer', null);
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
