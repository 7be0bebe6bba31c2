import test from 'node:test';
import assert from 'node:assert/strict';
import { signOfferToken } from '../../sdk-js/src/token.js';
import { verifyOfferToken } from '../../sdk-js/src/node.js';
import { crypto, rejectsCode } from './helpers.mjs';

const SECRET = 'test-secret-0123456789abcdef';
const offer = { decisionId: '0123456789abcdef0123456789abcdef', itemId: 'item-7', discount: 0.1, arm: 2, expiresAt: 1_700_000_900_000 };

test('token: sign then verify returns the claims', async () => {
  const t = await signOfferToken(offer, SECRET, { crypto });
  assert.match(t, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const c = await verifyOfferToken(t, SECRET, { now: 1_700_000_000_000 });
  assert.deepEqual(c, offer);
});

test('token: expired is refused with TOKEN_EXPIRED', async () => {
  const t = await signOfferToken(offer, SECRET, { crypto });
  await rejectsCode(assert, verifyOfferToken(t, SECRET, { now: offer.expiresAt }), 'TOKEN_EXPIRED');
  await rejectsCode(assert, verifyOfferToken(t, SECRET, { now: offer.expiresAt + 1 }), 'TOKEN_EXPIRED');
});

test('token: tampered claims, tampered signature, other secret, garbage are TOKEN_INVALID', async () => {
  const t = await signOfferToken(offer, SECRET, { crypto });
  const [v, body, sig] = t.split('.');
  const richer = Buffer.from(JSON.stringify({ d: offer.decisionId, i: offer.itemId, x: 0.9, a: 2, e: offer.expiresAt })).toString('base64url');
  const now = 1_700_000_000_000;
  await rejectsCode(assert, verifyOfferToken(`${v}.${richer}.${sig}`, SECRET, { now }), 'TOKEN_INVALID');
  const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
  await rejectsCode(assert, verifyOfferToken(`${v}.${body}.${flipped}`, SECRET, { now }), 'TOKEN_INVALID');
  await rejectsCode(assert, verifyOfferToken(t, 'another-secret-0123456789', { now }), 'TOKEN_INVALID');
  await rejectsCode(assert, verifyOfferToken('v1.abc', SECRET, { now }), 'TOKEN_INVALID');
  await rejectsCode(assert, verifyOfferToken(`v2.${body}.${sig}`, SECRET, { now }), 'TOKEN_INVALID');
  await rejectsCode(assert, verifyOfferToken(42, SECRET, { now }), 'TOKEN_INVALID');
});

test('token: short secrets are refused', async () => {
  await rejectsCode(assert, signOfferToken(offer, 'short', { crypto }), 'INVALID_ARGUMENT');
  // the message names the option a user sets
  await assert.rejects(signOfferToken(offer, 'short', { crypto }), /tokenSecret .* must be at least 16 bytes, got 5/);
  const t = await signOfferToken(offer, 'a-long-enough-secret-0123', { crypto });
  await assert.rejects(verifyOfferToken(t, 'short', { now: 0 }), /tokenSecret .* must be at least 16 bytes/);
});

test('token: a signed expiry beyond a Date\'s range is TOKEN_INVALID, as in the C++ checkout (fuzz)', async () => {
  // tests/fuzz (js_token): a token with e = -1e20 threw RangeError (Invalid time value) while
  // formatting the expiry, and e = 1e400 (Infinity) verified and never expired.
  const { createHmac } = await import('node:crypto');
  const signed = (claims) => {
    const part = `v1.${Buffer.from(claims).toString('base64url')}`;
    return `${part}.${createHmac('sha256', SECRET).update(part).digest('base64url')}`;
  };
  const d = `{"d":"${offer.decisionId}","i":"item-7","x":0.1,"a":2,"e":`;
  const now = 1_700_000_000_000;
  for (const e of ['-1e20', '1e400', '-1e400', '9.3e18', '8.7e15', '-8.7e15']) {
    await assert.rejects(verifyOfferToken(signed(`${d}${e}}`), SECRET, { now }), (err) => {
      assert.equal(err.code, 'TOKEN_INVALID', `${e}: ${err.name} ${err.message}`);
      assert.match(err.message, /claim e \(expiry\) is out of range/);
      return true;
    });
  }
  await rejectsCode(assert, verifyOfferToken(signed(`${d}-8.64e15}`), SECRET, { now }), 'TOKEN_EXPIRED');
  assert.equal((await verifyOfferToken(signed(`${d}8.64e15}`), SECRET, { now })).expiresAt, 8.64e15);
});
