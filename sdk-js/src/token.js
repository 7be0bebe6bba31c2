// Offer tokens: compact, HMAC-SHA256 signed (WebCrypto), verified by checkout servers.
//   token = "v1." + base64url(JSON claims) + "." + base64url(HMAC-SHA256(secret, "v1." + base64url(JSON claims)))
//   claims = { d: decision id (32 hex), i: item id, x: discount (fraction), a: arm, e: expiry (ms since epoch) }
//   a cart offer's claims = { d, s: "cart", c: cart digest, x: discount (amount / cart value), v: amount off
//     the order, m: minimum spend, k: arm kind, a, e }; c = base64url(SHA-256(UTF-8 JSON of the cart's
//     [item id, quantity] pairs, one per item id (quantities summed), sorted by item id (UTF-16 order)))
// Also: keys derived from a secret (HKDF), the edge's encrypted session cookies (AES-GCM) and the
// keyed user key of a shopper id (HMAC-SHA-256, truncated).
import { DiscoError } from './errors.js';
import { b64urlDecode, b64urlEncode, fromUtf8, isCryptoKey, randomBytes, subtleOf, toBytes, utf8, typeName } from './util.js';

const keyCache = new WeakMap();

/**
 * The secret as bytes (a CryptoKey as it is), refused unless >= 16 bytes. Callers that sign often
 * keep the result: the imported key is cached per bytes object.
 */
export function tokenSecretBytes(secret, what = 'tokenSecret (the secret that signs offer tokens and session cookies)') {
  if (isCryptoKey(secret)) return secret;
  const raw = typeof secret === 'string' ? utf8(secret) : toBytes(secret, 'secret');
  if (raw.length < 16) throw new DiscoError('INVALID_ARGUMENT', `${what} must be at least 16 bytes, got ${raw.length}`);
  return raw;
}

export async function hmacKey(secret, cryptoImpl, what) {
  if (isCryptoKey(secret)) return secret;
  const raw = tokenSecretBytes(secret, what);
  const subtle = subtleOf(cryptoImpl);
  if (typeof secret === 'object') {
    const hit = keyCache.get(secret);
    if (hit) return hit;
  }
  const key = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  if (typeof secret === 'object') keyCache.set(secret, key);
  return key;
}

async function sign(prefix, body, secret, cryptoImpl) {
  const key = await hmacKey(secret, cryptoImpl);
  const msg = `${prefix}.${body}`;
  const mac = new Uint8Array(await subtleOf(cryptoImpl).sign('HMAC', key, utf8(msg)));
  return `${msg}.${b64urlEncode(mac)}`;
}

async function open(prefix, token, secret, cryptoImpl) {
  if (token === undefined || token === null) {
    throw new DiscoError('TOKEN_INVALID', 'no token: Disco offers carry one only when the tokenSecret option is given (the edge handler always signs)');
  }
  if (typeof token !== 'string') throw new DiscoError('TOKEN_INVALID', `token must be a string, got ${typeName(token)}`);
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== prefix) throw new DiscoError('TOKEN_INVALID', 'token is malformed');
  let mac;
  try { mac = b64urlDecode(parts[2]); } catch { throw new DiscoError('TOKEN_INVALID', 'token signature is not base64url'); }
  const key = await hmacKey(secret, cryptoImpl);
  const ok = mac.length === 32
    && await subtleOf(cryptoImpl).verify('HMAC', key, mac, utf8(`${parts[0]}.${parts[1]}`));
  if (!ok) throw new DiscoError('TOKEN_INVALID', 'token signature does not verify (tampered, or another secret)');
  try { return b64urlDecode(parts[1]); } catch { throw new DiscoError('TOKEN_INVALID', 'token body is not base64url'); }
}

/** The digest a cart token carries of cart [{ itemId, quantity (default 1) }] (see the claims above). */
export async function cartDigest(cart, c) {
  const m = Object.create(null);
  for (const l of cart) m[l.itemId] = (m[l.itemId] ?? 0) + (l.quantity ?? 1);
  return b64urlEncode(new Uint8Array(await subtleOf(c).digest('SHA-256', utf8(JSON.stringify(Object.entries(m).sort((a, b) => (a[0] < b[0] ? -1 : 1)))))));
}

/**
 * Signs offer claims { decisionId, itemId, discount, arm, expiresAt }, or a cart offer's
 * { scope: 'cart', decisionId, cart, discount, amount, minSpend, kind, arm, expiresAt }.
 */
export async function signOfferToken(o, secret, { crypto: c } = {}) {
  const claims = o.scope === 'cart'
    ? { d: o.decisionId, s: 'cart', c: await cartDigest(o.cart, c), x: o.discount, v: o.amount, m: o.minSpend, k: o.kind, a: o.arm, e: o.expiresAt }
    : { d: o.decisionId, i: o.itemId, x: o.discount, a: o.arm, e: o.expiresAt };
  return sign('v1', b64urlEncode(utf8(JSON.stringify(claims))), secret, c);
}

/**
 * Verifies an offer token; returns { decisionId, itemId, discount, arm, expiresAt }, or for a cart
 * token { scope: 'cart', decisionId, discount, amount, minSpend, kind, arm, expiresAt }. A cart token
 * needs the order: cart ([{ itemId, quantity }]) and total (its value at the catalog's prices).
 * Throws DiscoError TOKEN_INVALID (malformed, tampered, other secret), TOKEN_EXPIRED, TOKEN_SCOPE (a
 * cart token without a cart, or an item token with one), TOKEN_CART_MISMATCH (not the cart the
 * offer was made for) or TOKEN_MIN_SPEND (total below the offer's minimum spend).
 */
export async function verifyOfferToken(token, secret, { now = Date.now(), crypto: cryptoImpl, cart, total } = {}) {
  const body = await open('v1', token, secret, cryptoImpl);
  let c;
  try { c = JSON.parse(fromUtf8(body)); } catch { throw new DiscoError('TOKEN_INVALID', 'token body is not JSON'); }
  const isCart = c?.s === 'cart';
  if (!c || typeof c.d !== 'string' || typeof c.x !== 'number' || typeof c.e !== 'number'
    || (isCart ? typeof c.c !== 'string' || typeof c.v !== 'number' || typeof c.m !== 'number' : typeof c.i !== 'string')) {
    throw new DiscoError('TOKEN_INVALID', 'token claims are incomplete');
  }
  // As the C++ checkout: an expiry beyond a Date's range (8.64e15 ms; 1e400 parses as Infinity) is
  // malformed (found by tests/fuzz: new Date(-1e20).toISOString() threw RangeError).
  if (!(Math.abs(c.e) <= 8.64e15)) throw new DiscoError('TOKEN_INVALID', 'token claim e (expiry) is out of range');
  const t = typeof now === 'function' ? now() : now;
  if (t >= c.e) throw new DiscoError('TOKEN_EXPIRED', `offer ${c.d} expired at ${new Date(c.e).toISOString()}`);
  if (!isCart !== !cart) throw new DiscoError('TOKEN_SCOPE', `offer ${c.d} is ${isCart ? 'a cart offer: pass the order\'s { cart, total }' : 'an item offer, not a cart one'}`);
  if (!isCart) return { decisionId: c.d, itemId: c.i, discount: c.x, arm: c.a, expiresAt: c.e };
  if (await cartDigest(cart, cryptoImpl) !== c.c) throw new DiscoError('TOKEN_CART_MISMATCH', `offer ${c.d} was made for another cart`);
  if (!(total >= c.m)) throw new DiscoError('TOKEN_MIN_SPEND', `offer ${c.d} needs an order total (catalog prices) of at least ${c.m}, got ${total}`);
  return { scope: 'cart', decisionId: c.d, discount: c.x, amount: c.v, minSpend: c.m, kind: c.k, arm: c.a, expiresAt: c.e };
}

/**
 * The 64-bit user key of a shopper id: the first 8 bytes (big-endian) of HMAC-SHA-256(salt, UTF-8 id).
 * salt: the site's salt (>= 16 bytes, or an HMAC CryptoKey).
 */
export async function userKeyOf(userId, salt, { crypto: c } = {}) {
  return new DataView(await subtleOf(c).sign('HMAC', await hmacKey(salt, c, 'userKeySalt'), utf8(String(userId)))).getBigUint64(0);
}

/** A key for one use (`info`), derived from a secret's bytes (tokenSecretBytes) with HKDF-SHA-256. */
export async function derivedKey(secret, info, alg, uses, c) {
  const s = subtleOf(c);
  return s.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(), info: utf8(info) },
    await s.importKey('raw', secret, 'HKDF', false, ['deriveKey']), alg, false, uses);
}

// Session cookies: "c1." + base64url(12-byte IV | AES-256-GCM(seconds when sealed, u32 BE | bytes) | 16-byte tag).
const GCM = (iv) => ({ name: 'AES-GCM', iv });
/** Encrypts and authenticates bytes for a cookie, stamped with the time (ms) `now`. */
export async function sealCookie(bytes, key, now, c) {
  const iv = randomBytes(12, c), t = now / 1000;
  return 'c1.' + b64urlEncode(new Uint8Array([...iv, ...new Uint8Array(await subtleOf(c).encrypt(GCM(iv), key, new Uint8Array([t >>> 24, t >> 16, t >> 8, t, ...bytes])))]));
}
/** The bytes of a cookie sealed by sealCookie, or null: malformed, tampered, another key, or sealed more than maxAgeS ago. */
export async function openCookie(value, key, now, maxAgeS, c) {
  try {
    const b = b64urlDecode(value.slice(3));
    const p = new DataView(await subtleOf(c).decrypt(GCM(b.subarray(0, 12)), key, b.subarray(12)));
    return value.startsWith('c1.') && now / 1000 - p.getUint32(0) <= maxAgeS ? new Uint8Array(p.buffer, 4) : null;
  } catch { return null; }
}
