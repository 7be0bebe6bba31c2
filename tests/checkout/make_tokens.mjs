// Writes tests/checkout/sdk_tokens.json: offer tokens signed by the SDK (sdk-js/src/token.js), read
// by checkout_test.cpp. tests/browser/token-golden.test.mjs re-signs them with the current SDK and
// fails when the SDK's token format drifts from this file (then rerun: node tests/checkout/make_tokens.mjs).
import { writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { signOfferToken } from '../../sdk-js/src/token.js';

export const SECRET = 'checkout-test-secret-0123456789';
export const OFFERS = [
  { decisionId: '0123456789abcdef0123456789abcdef', itemId: 'i42', discount: Math.fround(0.1), arm: 2, expiresAt: 4102444800000 },
  { decisionId: 'fedcba9876543210fedcba9876543210', itemId: 'item with spaces é', discount: 0.2, arm: 4, expiresAt: 4102444800000 },
  { decisionId: '00000000000000000000000000000001', itemId: 'i7', discount: 0.05, arm: 1, expiresAt: 1700000000000 },
];

export async function makeTokens() {
  const out = [];
  for (const o of OFFERS) out.push({ offer: o, token: await signOfferToken(o, SECRET, { crypto: webcrypto }) });
  return { secret: SECRET, tokens: out };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = await makeTokens();
  writeFileSync(new URL('./sdk_tokens.json', import.meta.url), JSON.stringify(t, null, 2) + '\n');
  console.log(`wrote ${t.tokens.length} tokens to tests/checkout/sdk_tokens.json`);
}
