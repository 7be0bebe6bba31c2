// Writes tests/checkout/sdk_tokens.json: offer tokens signed by the SDK (sdk-js/src/token.js), read
// by checkout_test.cpp. tests/browser/token-golden.test.mjs re-signs them with the current SDK and
// fails when the SDK's token format drifts from this file (then rerun: node tests/checkout/make_tokens.mjs).
import { writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { signOfferToken, cartDigest } from '../../sdk-js/src/token.js';

export const SECRET = 'checkout-test-secret-0123456789';
export const OFFERS = [
  { decisionId: '0123456789abcdef0123456789abcdef', itemId: 'i42', discount: Math.fround(0.1), arm: 2, expiresAt: 4102444800000 },
  { decisionId: 'fedcba9876543210fedcba9876543210', itemId: 'item with spaces é', discount: 0.2, arm: 4, expiresAt: 4102444800000 },
  { decisionId: '00000000000000000000000000000001', itemId: 'i7', discount: 0.05, arm: 1, expiresAt: 1700000000000 },
  // cart offers (offerCart): 3 = 10 % off the order over 30 (i42 x 2 + i9 = 25.5 at the checkout
  // test's catalog: below it; with i43 too, 35.5: above), 4 = 5 off over 20, expired, 5 = free shipping
  // over 10 for a cart whose ids pin the digest's canonical form (UTF-16 order, JSON.stringify escapes,
  // repeated ids merged)
  { scope: 'cart', decisionId: 'c0ffee00c0ffee00c0ffee00c0ffee00', cart: [{ itemId: 'i42', quantity: 2 }, { itemId: 'i9', quantity: 1 }, { itemId: 'i43', quantity: 1 }], discount: Math.fround(3.55 / 35.5), amount: 3.55, minSpend: 30, kind: 'percent', arm: 5, expiresAt: 4102444800000 },
  { scope: 'cart', decisionId: 'c0ffee00c0ffee00c0ffee00c0ffee01', cart: [{ itemId: 'i42', quantity: 1 }], discount: 0.5, amount: 5, minSpend: 20, kind: 'fixed', arm: 6, expiresAt: 1700000000000 },
  { scope: 'cart', decisionId: 'c0ffee00c0ffee00c0ffee00c0ffee02', cart: [{ itemId: '\uff5e', quantity: 1 }, { itemId: '\u{1f600}', quantity: 2 }, { itemId: 'q"\\\n\u0001 é', quantity: 1 }, { itemId: '\uff5e', quantity: 3 }, { itemId: 'item with spaces é', quantity: 1 }], discount: 0, amount: 0, minSpend: 10, kind: 'free_shipping', arm: 7, expiresAt: 4102444800000 },
];

export async function makeTokens() {
  const out = [];
  for (const o of OFFERS) {
    const t = { offer: o, token: await signOfferToken(o, SECRET, { crypto: webcrypto }) };
    if (o.scope === 'cart') t.digest = await cartDigest(o.cart, webcrypto); // what the C++ cart_digest must give
    out.push(t);
  }
  return { secret: SECRET, tokens: out };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = await makeTokens();
  writeFileSync(new URL('./sdk_tokens.json', import.meta.url), JSON.stringify(t, null, 2) + '\n');
  console.log(`wrote ${t.tokens.length} tokens to tests/checkout/sdk_tokens.json`);
}
