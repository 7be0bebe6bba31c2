// disco market: the storefront demo's views (pages, cart, checkout, the panel) and routing.
// Recommendations are decided in this tab by disco.wasm through the SDK, wired in disco.js (the part
// a store copies); offers, whose signed tokens the checkout trusts, by the edge worker in front of
// the shop (it holds the secret; the page holds none). The collector behind it serves the files,
// the signed bundle and the checkout, and receives the edge's decisions and outcomes.
import { createShopDisco, kv as store } from './disco.js';
import { productArt, esc } from './art.js';

const $ = (sel) => document.querySelector(sel);
const view = $('#view');
const money = (v) => `$${v.toFixed(2)}`;
const pct = (v) => `${(v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0)}%`;
// An item offer's kind as the page shows it: 'price' (percent or fixed amount: the discount is the
// fraction off the item's price), 'shipping' (free shipping on the order) or '' (no offer).
const offerKind = (o) => (!o ? '' : o.kind === 'free_shipping' ? 'shipping' : o.discount > 0 ? 'price' : '');
/** "10% off", "$1.00 off" (a fixed amount: price x the fraction), "Free shipping". */
function offerText(o, price) {
  if (offerKind(o) === 'shipping') return 'Free shipping';
  return o.kind === 'fixed' ? `${money(price * o.discount)} off` : `${pct(o.discount)} off`;
}
const live = (o) => o && o.expiresAt > Date.now();

// ---------------------------------------------------------------- config, catalog, persistence
// config.json is next to index.html (revalidated); the rest sits next to this module (cached).
const asset = (p) => new URL(p, import.meta.url).href;
const cfg = await (await fetch('config.json', { cache: 'no-store' })).json();
const catalog = await (await fetch(asset('catalog.json'))).json();
const items = new Map(catalog.items.map((it) => [it.id, it]));
const cats = catalog.categories;
const popular = [...catalog.items].filter((i) => i.stock).sort((a, b) => b.views - a.views || (a.id < b.id ? -1 : 1));

const shop = createShopDisco({
  cfg,
  wasmUrls: { simd: asset('sdk/disco-simd.wasm'), plain: asset('sdk/disco.wasm') },
  onEdgeError: (e) => { state.lastError = `${e.code}: ${e.message}`; renderPanel(); },
});

// ---------------------------------------------------------------- what the panel shows
const state = {
  disco: null,
  status: { ok: false, code: 'LOADING', message: 'loading disco.wasm and the bundle…' },
  events: [],          // { t, type, itemId, note }
  lastOffer: null,     // offer + { shown }
  cartOffer: null,     // the cart's coupon (the edge's /offer-cart decision) while the cart page shows it
  offers: shop.offers, // itemId -> offer (unexpired, reused on revisits)
  cart: store.get('cart', []),              // [{ itemId, qty, price, offer? }]
  lastError: null,
  orders: store.get('orders', []),
};
function logEvent(type, itemId, note = '') {
  state.events.unshift({ t: Date.now(), type, itemId, note });
  state.events.length = Math.min(state.events.length, 14);
  renderPanel();
}

// ---------------------------------------------------------------- what the views ask disco
function track(type, itemId, extra = {}) {
  const it = items.get(itemId);
  if (state.disco && it && !shop.track({ type, itemId, price: extra.price ?? it.price, quantity: extra.quantity ?? 1 })) {
    extra.note = 'not in the model\'s catalog';
  }
  logEvent(type, itemId, extra.note);
}

function recommend(k, exclude = []) {
  if (!state.disco) return { list: popular.filter((i) => !exclude.includes(i.id)).slice(0, k), personal: false };
  const list = shop.recommend(k + 4, exclude).map((id) => items.get(id)).filter((i) => i && i.stock).slice(0, k);
  return { list, personal: true };
}

// ---------------------------------------------------------------- rendering
const catOf = (it) => cats[it.c];
function card(it, { reason = '' } = {}) {
  const c = catOf(it);
  const off = state.offers.get(it.id);
  const hasDeal = live(off) && offerKind(off);
  return `<a class="card" href="#/p/${encodeURIComponent(it.id)}" data-item="${esc(it.id)}">
    <div class="card-art">${productArt(it, c.hue)}${hasDeal ? `<span class="chip deal">${offerText(off, it.price)} for you</span>` : ''}</div>
    <div class="card-body">
      <div class="card-cat">${esc(c.label)}${reason ? ` · <span class="why">${esc(reason)}</span>` : ''}</div>
      <div class="card-name">${esc(it.name)}</div>
      <div class="card-price">${money(it.price)}</div>
    </div></a>`;
}
function grid(list, opts) { return `<div class="grid">${list.map((i) => card(i, opts)).join('')}</div>`; }

function renderCats(active) {
  const top = [...cats].map((c, i) => ({ c, i, v: catalog.items.reduce((s, it) => s + (it.c === i ? it.views : 0), 0) }))
    .sort((a, b) => b.v - a.v).slice(0, 9);
  $('#cats').innerHTML = top.map(({ c }) => `<a href="#/c/${encodeURIComponent(c.id)}" class="${c.id === active ? 'on' : ''}">${esc(c.label)}</a>`).join('');
}

function recSection(title, k, exclude) {
  const { list, personal } = recommend(k, exclude);
  if (!list.length) return '';
  return `<section class="shelf" data-testid="${personal ? 'recommendations' : 'popular-fallback'}">
    <h2>${personal ? title : 'Popular right now'} ${personal ? '<span class="tag">for you</span>' : '<span class="tag muted">disco off</span>'}</h2>
    ${grid(list, { reason: personal ? 'recommended' : '' })}</section>`;
}

function pageHome() {
  renderCats(null);
  const viewed = state.events.some((e) => e.type === 'view');
  view.innerHTML = `
    <section class="hero">
      <div>
        <h1>Things you will like, <em>priced for you</em>.</h1>
        <p>Browse a few products: the shelf below re-ranks with every view, and product pages may carry a
        personal offer chosen by a bandit that learns which discounts pay for themselves.</p>
      </div>
    </section>
    ${recSection(viewed ? 'Recommended for you' : 'Picked for a first visit', 10, [])}
    <section class="shelf"><h2>Popular right now</h2>${grid(popular.slice(0, 15))}</section>`;
}

function pageCategory(catId) {
  renderCats(catId);
  const ci = cats.findIndex((c) => c.id === catId);
  if (ci < 0) return pageNotFound();
  const list = popular.filter((i) => i.c === ci).slice(0, 24);
  view.innerHTML = `<section class="shelf"><h1 class="page-title">${esc(cats[ci].label)}</h1>${grid(list)}</section>`;
}

function fmtLeft(ms) {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60); const r = s % 60;
  return h ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}:${String(r).padStart(2, '0')}`;
}

async function pageProduct(id) {
  const it = items.get(id);
  if (!it) return pageNotFound();
  renderCats(catOf(it).id);
  track('view', id);
  const offer = it.stock ? await shop.offer(id) : null;
  const kind = offerKind(offer);
  const deal = kind === 'price';
  const price = deal ? it.price * (1 - offer.discount) : it.price;
  const badge = !state.disco
    ? `<div class="offer none" data-testid="no-offer">Personal offers are off right now: everything is at its list price.</div>`
    : kind
      ? `<div class="offer${deal ? '' : ' ship'}" data-testid="${deal ? 'offer-badge' : 'offer-free-shipping'}" data-kind="${esc(offer.kind)}"><div class="offer-main"><b>${offerText(offer, it.price)}</b>${deal ? '' : ' on this order'}, just for you</div>
         <div class="offer-sub">Offer ends in <span class="countdown" data-expires="${offer.expiresAt}">${fmtLeft(offer.expiresAt - Date.now())}</span></div></div>`
      : offer ? `<div class="offer none" data-testid="offer-none">Today's price is our best price.</div>` : '';
  view.innerHTML = `
    <nav class="crumbs"><a href="#/">Home</a> › <a href="#/c/${encodeURIComponent(catOf(it).id)}">${esc(catOf(it).label)}</a></nav>
    <article class="product" data-testid="product">
      <div class="product-art">${productArt(it, catOf(it).hue, { big: true })}</div>
      <div class="product-info">
        <div class="brand">${esc(it.brand)}</div>
        <h1>${esc(it.name)}</h1>
        <div class="price-row">${deal ? `<span class="price now">${money(price)}</span><s class="was">${money(it.price)}</s>` : `<span class="price">${money(it.price)}</span>`}</div>
        ${badge}
        <div class="stock ${it.stock ? '' : 'out'}">${it.stock ? 'In stock · ships tomorrow' : 'Out of stock'}</div>
        <div class="qty-row">
          <button class="btn primary big" id="add" ${it.stock ? '' : 'disabled'}>Add to cart</button>
        </div>
        <p class="desc">A ${esc(it.name.split(' ').slice(1).join(' ').toLowerCase())} from ${esc(it.brand)}, in our ${esc(catOf(it).label.toLowerCase())} range.
        Viewed ${it.views.toLocaleString('en-US')} times this month.</p>
      </div>
    </article>
    ${recSection('You may also like', 6, [id])}`;
  if (offer) { state.lastOffer = offer; shop.shown(offer); }
  renderPanel();
  $('#add')?.addEventListener('click', () => {
    track('cart', id, { price });
    const line = state.cart.find((l) => l.itemId === id);
    if (line) line.qty++;
    else state.cart.push({ itemId: id, qty: 1, price: it.price, offer: offer ? { decisionId: offer.decisionId, kind: offer.kind, discount: offer.discount, token: offer.token, expiresAt: offer.expiresAt } : null });
    store.set('cart', state.cart);
    updateCartCount();
    toast(`Added ${it.name} to your cart`);
  });
}

// The cart as the page estimates it (the checkout's answer is what is charged): goods after the
// items' offers, the cart coupon, the shipping line (config.json "shipping": the collector's fee and
// free-shipping threshold).
function cartTotals(coupon) {
  let goods = 0; let saved = 0; let freeShip = false;
  for (const l of state.cart) {
    const d = live(l.offer) ? l.offer.discount : 0;
    if (live(l.offer) && l.offer.kind === 'free_shipping') freeShip = true;
    goods += l.price * l.qty * (1 - d); saved += l.price * l.qty * d;
  }
  const couponOff = coupon ? Math.min(coupon.amount, goods) : 0;
  goods -= couponOff;
  if (coupon?.kind === 'free_shipping') freeShip = true;
  const fee = cfg.shipping?.fee ?? 0;
  const over = cfg.shipping?.freeOver ?? 0;
  const threshold = fee > 0 && over > 0 && goods >= over - 1e-9;
  const shipping = freeShip || threshold ? 0 : fee;
  return { goods, saved: saved + couponOff + (fee - shipping), couponOff, fee, shipping, freeShip, threshold, total: goods + shipping };
}

/** The coupon's offer as a shopper reads it: "10% off orders over $50.00", "Free shipping on orders over $30.00". */
function couponText(c) {
  const over = c.minSpend > 0 ? ` on orders over ${money(c.minSpend)}` : ' on this order';
  if (c.kind === 'free_shipping') return `Free shipping${over}`;
  if (c.kind === 'fixed') return `${money(c.amount)} off${over}`;
  return `${pct(Math.round((c.amount / (c.eligibleValue || c.cartValue)) * 1000) / 1000)} off${over}`;
}
// the coupon applies (its cart is this cart, it is valid and gives something)
const couponApplies = (c) => c && live(c) && (c.amount > 0 || c.kind === 'free_shipping');

function cartLinesForOffer() { return state.cart.map((l) => ({ itemId: l.itemId, quantity: l.qty })); }

async function pageCart() {
  renderCats(null);
  if (!state.cart.length) {
    view.innerHTML = `<section class="empty"><h1 class="page-title">Your cart is empty</h1><p><a class="btn primary" href="#/">Keep shopping</a></p></section>`;
    return;
  }
  // the site-wide coupon for this cart, decided by the edge (POST /offer-cart)
  const coupon = state.disco ? await shop.offerCart(cartLinesForOffer()) : null;
  if (location.hash !== '#/cart') return; // the shopper left meanwhile
  state.cartOffer = coupon;
  const applies = couponApplies(coupon);
  const rows = state.cart.map((l, n) => {
    const it = items.get(l.itemId);
    const k = live(l.offer) ? offerKind(l.offer) : '';
    const d = k === 'price' ? l.offer.discount : 0;
    return `<div class="line">
      <div class="line-art">${productArt(it, catOf(it).hue)}</div>
      <div class="line-name"><a href="#/p/${encodeURIComponent(it.id)}">${esc(it.name)}</a>
        ${k ? `<span class="chip deal small">${offerText(l.offer, l.price)} · ends in <span class="countdown" data-expires="${l.offer.expiresAt}">${fmtLeft(l.offer.expiresAt - Date.now())}</span></span>` : ''}</div>
      <div class="line-qty">× ${l.qty}</div>
      <div class="line-price">${d ? `<s>${money(l.price * l.qty)}</s> ` : ''}${money(l.price * l.qty * (1 - d))}</div>
      <button class="btn ghost small" data-remove="${n}" aria-label="remove">Remove</button></div>`;
  }).join('');
  const t = cartTotals(applies ? coupon : null);
  const couponBox = applies
    ? `<div class="coupon" data-testid="cart-coupon" data-kind="${esc(coupon.kind)}"><div class="coupon-tag">Coupon</div>
        <div><b>${couponText(coupon)}</b>, just for you: applied to this cart${coupon.amount > 0 ? ` (−${money(coupon.amount)})` : ''}.
        <div class="offer-sub">Ends in <span class="countdown" data-expires="${coupon.expiresAt}">${fmtLeft(coupon.expiresAt - Date.now())}</span> · for these items and quantities</div></div></div>`
    : coupon ? '<p class="fine" data-testid="cart-coupon-none">No coupon for this cart today.</p>' : '';
  const shipNote = t.fee <= 0 ? '' : t.shipping > 0
    ? `${money(t.shipping)}${cfg.shipping.freeOver > 0 ? ` <i>(free over ${money(cfg.shipping.freeOver)})</i>` : ''}`
    : `<s>${money(t.fee)}</s> Free`;
  view.innerHTML = `<section class="cart"><h1 class="page-title">Your cart</h1>${rows}
    ${couponBox}
    <dl class="sums" data-testid="cart-sums">
      ${applies && t.couponOff > 0 ? `<dt>Coupon ${esc(coupon.armName)}</dt><dd>−${money(t.couponOff)}</dd>` : ''}
      ${t.fee > 0 ? `<dt>Shipping</dt><dd data-testid="cart-shipping">${shipNote}</dd>` : ''}
    </dl>
    <div class="cart-foot"><div>${t.saved > 0 ? `<span class="saved">You save ${money(t.saved)}</span>` : ''}</div>
    <div class="cart-total">Total <b data-testid="cart-total">${money(t.total)}</b></div>
    <button class="btn primary big" id="checkout" data-testid="checkout">Place order</button></div>
    <p class="fine">This is a fake checkout: no payment is taken. The server verifies each offer's signed token
    before it honours the discount.</p></section>`;
  // shown and activated whatever it offers (a no-coupon decision too: the bandit learns from arm 0)
  if (live(coupon)) shop.shown(coupon);
  renderPanel();
  view.querySelectorAll('[data-remove]').forEach((b) => b.addEventListener('click', () => {
    const [l] = state.cart.splice(Number(b.dataset.remove), 1);
    track('remove', l.itemId, { quantity: l.qty });
    store.set('cart', state.cart);
    updateCartCount();
    pageCart();
  }));
  $('#checkout').addEventListener('click', checkout);
}

async function checkout() {
  const btn = $('#checkout');
  btn.disabled = true; btn.textContent = 'Placing order…';
  const lines = state.cart.map((l) => ({ item_id: l.itemId, quantity: l.qty, price: l.price, ...(l.offer?.token ? { token: l.offer.token } : {}) }));
  // the cart decision's token goes with the order whatever it offers: the checkout records the
  // outcome of a no-coupon decision too (as a 0 % item offer's), so the bandit compares both
  const coupon = live(state.cartOffer) ? state.cartOffer : null;
  const order = { lines, ...(coupon ? { cart_token: coupon.token } : {}) };
  let res; let body;
  try {
    res = await fetch(cfg.checkoutUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-disco-key': cfg.apiKey }, body: JSON.stringify(order) });
    body = await res.json();
  } catch (e) {
    btn.disabled = false; btn.textContent = 'Place order';
    return toast(`The order did not go through (${e.message}); nothing was charged. Try again.`, true);
  }
  if (!res.ok) {
    btn.disabled = false; btn.textContent = 'Place order';
    return toast(`The shop refused the order: ${body.message ?? body.error}`, true);
  }
  // Outcomes: each decision behind a bought line converted, with the revenue the server charged.
  // A free-shipping offer's cost is the fee the merchant then pays: it comes off the margin of the
  // decision that waived it (once; a threshold waiver is nobody's decision).
  const reports = [];
  let waived = body.shipping_discount > 0 ? body.shipping_discount : 0;
  const shippingCost = (why) => { if (body.free_shipping !== why) return 0; const c = waived; waived = 0; return c; };
  for (const [n, ol] of body.lines.entries()) {
    const l = state.cart[n];
    const it = items.get(l.itemId);
    track('purchase', l.itemId, { price: ol.total / ol.quantity, quantity: ol.quantity });
    const decisionId = ol.decision_id ?? l.offer?.decisionId;
    const ship = ol.offer === 'applied' && ol.free_shipping ? shippingCost('item_offer') : 0;
    const r = decisionId && await shop.report(decisionId, { revenue: ol.total, margin: ol.total - it.cost * ol.quantity - ship });
    if (r) reports.push({ ...r, offer: ol.offer });
  }
  // the coupon's decision: the order's goods after every discount, and their margin
  const co = body.cart_offer;
  if (co?.decision_id || coupon) {
    const cost = body.lines.reduce((s, ol) => s + (items.get(ol.item_id)?.cost ?? 0) * ol.quantity, 0);
    const goods = body.subtotal ?? body.total;
    const ship = co?.offer === 'applied' && co.free_shipping ? shippingCost('cart_offer') : 0;
    const r = await shop.report(co?.decision_id ?? coupon.decisionId, { revenue: goods, margin: goods - cost - ship });
    if (r) reports.push({ ...r, offer: co?.offer ?? 'none' });
  }
  const flushed = reports.every((r) => r.delivered);
  const placed = {
    id: body.order_id, total: body.total, saved: body.saved, lines: body.lines, cartOffer: co ?? null,
    coupon: couponApplies(coupon) ? { armName: coupon.armName, text: couponText(coupon) } : null,
    subtotal: body.subtotal, shipping: body.shipping, shippingFee: body.shipping_fee, freeShipping: body.free_shipping ?? null,
    reports, flushed, t: Date.now(),
  };
  state.orders.unshift(placed);
  state.orders.length = Math.min(state.orders.length, 5);
  store.set('orders', state.orders);
  shop.forget(state.cart.map((l) => l.itemId));
  state.cartOffer = null;
  state.cart = [];
  store.set('cart', state.cart);
  updateCartCount();
  location.hash = `#/order/${encodeURIComponent(body.order_id)}`;
}

function pageOrder(id) {
  renderCats(null);
  const o = state.orders.find((x) => x.id === id);
  if (!o) return pageNotFound();
  // the goods at list price, then one line per discount (items' offers, the coupon), shipping, total
  const rows = o.lines.map((l) => {
    const it = items.get(l.item_id);
    const note = l.offer === 'applied' ? `<span class="ok">offer verified${l.free_shipping ? ': free shipping' : l.discount > 0 ? `: ${pct(l.discount)} off` : ''}</span>`
      : l.offer === 'rejected' ? `<span class="bad" data-testid="offer-refused">offer refused (${esc(l.reason)}): list price</span>` : '';
    return `<li data-testid="order-line"><span>${esc(it?.name ?? l.item_id)} × ${l.quantity}</span> ${note} <b>${money(l.price * l.quantity)}</b></li>`;
  }).join('');
  const discounts = o.lines.filter((l) => l.offer === 'applied' && l.price * l.quantity - l.total > 0.004).map((l) => {
    const it = items.get(l.item_id);
    return `<li class="discount" data-testid="discount-line"><span>Your offer on ${esc(it?.name ?? l.item_id)} (${pct(l.discount)} off)</span> <b>−${money(l.price * l.quantity - l.total)}</b></li>`;
  }).join('');
  const co = o.cartOffer;
  // a coupon line when the cart page showed a coupon, or one applied that gave something (a
  // no-coupon decision's token also goes with the order: no line for it)
  const coupon = !co || !(o.coupon || (co.offer === 'applied' && (co.discount > 0 || co.free_shipping))) ? ''
    : co.offer === 'applied'
      ? `<li class="discount" data-testid="coupon-line"><span>Coupon${o.coupon ? ` ${esc(o.coupon.text)}` : ''} <span class="ok">verified</span></span> <b>${co.discount > 0 ? `−${money(co.discount)}` : co.free_shipping ? 'free shipping' : money(0)}</b></li>`
      : `<li data-testid="coupon-line"><span>Coupon${o.coupon ? ` ${esc(o.coupon.text)}` : ''} <span class="bad" data-testid="coupon-refused">refused (${esc(co.reason)})</span></span> <b>${money(0)}</b></li>`;
  const why = { item_offer: 'your free-shipping offer', cart_offer: 'your coupon', threshold: 'order over the free-shipping minimum' };
  const ship = o.shippingFee > 0
    ? `<li class="shipping" data-testid="shipping-line"><span>Shipping${o.shipping === 0 && o.freeShipping ? ` <span class="ok">free: ${esc(why[o.freeShipping] ?? o.freeShipping)}</span>` : ''}</span> <b>${o.shipping === 0 ? `<s>${money(o.shippingFee)}</s> ${money(0)}` : money(o.shipping)}</b></li>`
    : '';
  view.innerHTML = `<section class="order" data-testid="order">
    <h1 class="page-title">Thank you! Order <code>${esc(o.id)}</code> is placed.</h1>
    <ul class="order-lines">${rows}${discounts}${coupon}${ship}</ul>
    <p class="order-total">Paid <b data-testid="order-total">${money(o.total)}</b>${o.saved > 0 ? ` · saved <b>${money(o.saved)}</b>` : ''}</p>
    <p class="fine" data-testid="outcome-status">${o.reports.length
    ? `${o.reports.length} outcome${o.reports.length > 1 ? 's' : ''} reported to the collector${o.flushed ? ' and acknowledged' : ' (queued: will retry)'}; ${o.reports.filter((r) => r.applied).length} updated the edge's bandit.`
    : 'No disco decisions were involved in this order.'}</p>
    <p><a class="btn primary" href="#/">Continue shopping</a></p></section>`;
  renderPanel();
}

function pageNotFound() {
  view.innerHTML = '<section class="empty"><h1 class="page-title">Nothing here</h1><p><a class="btn primary" href="#/">Back to the store</a></p></section>';
}

function updateCartCount() { $('#cart-count').textContent = String(state.cart.reduce((s, l) => s + l.qty, 0)); }

let toastTimer;
function toast(msg, bad = false) {
  let t = $('#toast');
  if (!t) { t = document.createElement('div'); t.id = 'toast'; t.setAttribute('role', 'status'); document.body.append(t); }
  t.textContent = msg; t.className = `toast show${bad ? ' bad' : ''}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = 'toast'; }, 3200);
}

// ---------------------------------------------------------------- the panel
function renderPanel() {
  const body = $('#panel-body');
  const s = state.status;
  $('#disco-dot').className = `pulse ${s.ok ? 'on' : s.code === 'LOADING' ? '' : 'off'}`;
  if (!body || $('#panel').hidden) return;
  const d = state.disco;
  const info = d?.info;
  const prop = d ? d.propensity() : null;
  const o = state.lastOffer;
  const tr = d?.transport;
  const ev = state.events.map((e) => `<li><time>${new Date(e.t).toLocaleTimeString()}</time><span class="ev ${e.type}">${e.type}</span>${esc(items.get(e.itemId)?.name ?? e.itemId)}${e.note ? ` <i>(${esc(e.note)})</i>` : ''}</li>`).join('');
  body.innerHTML = `
    <section><h3>Model</h3>${s.ok
    ? `<p data-testid="bundle-status" class="ok">Bundle verified (ECDSA P-256) · ${esc(cfg.bundleLabel)}</p>
       <dl><dt>model</dt><dd>${esc(info.modelVersion)}</dd><dt>catalog</dt><dd>${info.nItems.toLocaleString()} items</dd>
       <dt>network</dt><dd>LSTM h=${info.hidden}, d=${info.embDim}, ${info.nArms} arms</dd><dt>engine</dt><dd>wasm${info.simd ? ' + SIMD128' : ''}</dd></dl>`
    : `<p data-testid="bundle-status" class="bad">${s.code === 'LOADING' ? 'Loading…' : `Disco is off: <b>${esc(s.code)}</b>: ${esc(s.message)}`}</p>
       ${s.code === 'LOADING' ? '' : '<p class="fine">The store keeps working without it: popular items instead of recommendations, list prices, no offers.</p>'}`}</section>
    ${d ? `<section><h3>Purchase propensity</h3><div class="meter"><span style="width:${(prop * 100).toFixed(1)}%"></span></div>
      <p class="fine" data-testid="propensity">${pct(prop)} chance this session ends in a purchase (the model's estimate after ${state.events.length ? 'your recent events' : 'no events yet'}).</p></section>` : ''}
    ${d ? `<section data-testid="last-offer"><h3>Last offer decision</h3>${o ? `<dl>
      <dt>item</dt><dd>${esc(items.get(o.itemId)?.name ?? o.itemId)}</dd>
      <dt>arm chosen</dt><dd><b>${esc(o.armName)}</b> (#${o.arm}${o.banditArm !== o.arm ? `, bandit wanted #${o.banditArm}` : ''})</dd>
      <dt>discount</dt><dd>${pct(o.discount)}</dd>
      <dt>arm propensity</dt><dd>${o.propensity.toFixed(3)} <i>(logged for off-policy learning)</i></dd>
      <dt>purchase prop.</dt><dd>${pct(o.purchasePropensity)}</dd>
      <dt>guardrails</dt><dd data-testid="guardrails">${o.guardrails.length ? o.guardrails.map((g) => `<span class="chip small">${esc(g)}</span>`).join(' ') : 'none applied'}</dd>
      <dt>expires</dt><dd>${new Date(o.expiresAt).toLocaleTimeString()}</dd>
      <dt>shown</dt><dd>${o.shown ? 'yes (activated: its outcome trains the bandit)' : 'not yet'}</dd>
      <dt>decision</dt><dd><code>${o.decisionId}</code></dd></dl>` : '<p class="fine">Open a product page: disco decides its offer there.</p>'}</section>` : ''}
    ${d && state.cartOffer ? `<section data-testid="last-cart-offer"><h3>Cart decision</h3><dl>
      <dt>arm chosen</dt><dd><b>${esc(state.cartOffer.armName)}</b> (#${state.cartOffer.arm}, ${esc(state.cartOffer.kind)})</dd>
      <dt>cart value</dt><dd>${money(state.cartOffer.cartValue)} at list prices</dd>
      <dt>amount off</dt><dd>${money(state.cartOffer.amount)}${state.cartOffer.minSpend > 0 ? ` (minimum spend ${money(state.cartOffer.minSpend)})` : ''}</dd>
      <dt>arm propensity</dt><dd>${state.cartOffer.propensity.toFixed(3)}</dd>
      <dt>guardrails</dt><dd>${state.cartOffer.guardrails?.length ? state.cartOffer.guardrails.map((g) => `<span class="chip small">${esc(g)}</span>`).join(' ') : 'none applied'}</dd>
      <dt>expires</dt><dd>${new Date(state.cartOffer.expiresAt).toLocaleTimeString()}</dd></dl></section>` : ''}
    <section><h3>Recent events</h3>${ev ? `<ul class="events" data-testid="events">${ev}</ul>` : '<p class="fine">None yet.</p>'}</section>
    <section><h3>What leaves this tab</h3><p class="fine" data-testid="transport">Your browsing stays here (the model runs in the tab). Offers come from the shop's edge worker: it gets the item and your recent events, decides, signs the offer and keeps the session in an encrypted cookie; decisions and outcomes go from it to the collector.${tr ? ` ${tr.size} queued · ${tr.stats.sentBatches} batches sent` : ''}${state.lastError ? `<br><span class="bad">${esc(state.lastError)}</span>` : ''}</p></section>`;
}

function togglePanel(open) {
  const p = $('#panel');
  p.hidden = !open;
  document.body.classList.toggle('panel-open', open);
  $('#panel-toggle').setAttribute('aria-expanded', String(open));
  store.set('panel', open);
  renderPanel();
}

// ---------------------------------------------------------------- routing and start
async function route() {
  const h = decodeURIComponent(location.hash.slice(1) || '/');
  window.scrollTo(0, 0);
  const [, kind, arg] = h.match(/^\/(?:(p|c|order|cart)(?:\/(.+))?)?$/) ?? [];
  if (!kind) return pageHome();
  if (kind === 'p') return pageProduct(arg);
  if (kind === 'c') return pageCategory(arg);
  if (kind === 'cart') return pageCart();
  if (kind === 'order') return pageOrder(arg);
  return pageNotFound();
}

view.addEventListener('click', (e) => {
  const a = e.target.closest('a.card');
  if (a) track('click', a.dataset.item);
});
$('#panel-toggle').addEventListener('click', () => togglePanel($('#panel').hidden));
$('#panel-close').addEventListener('click', () => togglePanel(false));
setInterval(() => {
  document.querySelectorAll('.countdown').forEach((el) => { el.textContent = fmtLeft(Number(el.dataset.expires) - Date.now()); });
  if (!$('#panel').hidden && state.disco) {
    const t = document.querySelector('[data-testid="transport"]');
    const tr = state.disco.transport;
    if (t && tr) t.firstChild.textContent = `${tr.size} queued · ${tr.stats.sentBatches} batches (${tr.stats.sentRecords} records) sent · ${tr.stats.dropped} dropped`;
  }
}, 1000);

try {
  state.disco = await shop.start();
  state.status = { ok: true };
} catch (e) {
  // A bundle that fails verification (or any load failure) leaves the store working without disco.
  state.status = { ok: false, code: e.code ?? e.name, message: e.message };
  shop.off();
  for (const l of state.cart) l.offer = null;
  const banner = $('#banner');
  banner.hidden = false;
  banner.dataset.testid = 'disco-off';
  banner.textContent = `Personal offers are unavailable right now (${e.code ?? e.name}); you can keep shopping at list prices.`;
  console.warn('disco is off:', e.code ?? e.name, e.message);
}
document.documentElement.dataset.disco = state.status.ok ? 'on' : 'off';
updateCartCount();
window.addEventListener('hashchange', route);
if (store.get('panel', false)) togglePanel(true);
await route();
document.documentElement.dataset.ready = '1';
window.__disco = state; // for the browser tests and the curious
