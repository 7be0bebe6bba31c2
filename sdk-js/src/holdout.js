// A/B holdout: a stable share of shoppers always gets the site's baseline arm, decided by rule
// (not by the bandit), logged with `holdout: true` so the collector's export can compare disco
// against it (disco-eval ab). Membership is a hash of the 64-bit user key, so the same shopper is
// in or out on every device, request and edge, and across restarts:
//   in holdout  <=>  mix64(userKey XOR fnv1a64(salt)) / 2^64 < share
// with mix64 the splitmix64 finalizer. A holdout decision logs propensity 1 (the holdout rule gives
// the baseline arm with probability 1) and never trains the bandit: it makes no pending decision
// in the runtime, so shown/report do not update the local posterior, and it carries no context
// vector, so no fleet statistic can include it (the collector's statistics skip context-less rows).
import { DiscoError } from './errors.js';
import { fnv1a64, randomBytes, toHex } from './util.js';

const M64 = (1n << 64n) - 1n;
function mix64(x) {
  x = (x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n & M64;
  x = (x ^ (x >> 27n)) * 0x94d049bb133111ebn & M64;
  return x ^ (x >> 31n);
}

/** Validates `holdout: { share, arm, salt }` against the bundle's arms; null when absent. */
export function parseHoldout(h, summary) {
  if (h === undefined || h === null) return null;
  if (typeof h !== 'object') throw new DiscoError('INVALID_ARGUMENT', `holdout must be { share, arm }, got ${typeof h}`);
  const { share, arm = 0, salt = 'disco-holdout' } = h;
  if (typeof share !== 'number' || !(share >= 0 && share <= 1)) {
    throw new DiscoError('INVALID_ARGUMENT', `holdout.share must be a fraction in [0, 1] (e.g. 0.1 for 10% of shoppers), got ${JSON.stringify(share)}`);
  }
  const arms = summary.arms;
  const index = typeof arm === 'string' ? arms.findIndex((a) => a.name === arm) : arm;
  if (!Number.isInteger(index) || index < 0 || index >= arms.length) {
    throw new DiscoError('INVALID_ARGUMENT', `holdout.arm must be an arm index 0..${arms.length - 1} or one of the bundle's arm names (${arms.map((a) => JSON.stringify(a.name)).join(', ')}), got ${JSON.stringify(arm)}`);
  }
  const spec = arms[index];
  if (spec.kind === 'fixed') {
    throw new DiscoError('UNSUPPORTED', `holdout.arm ${JSON.stringify(spec.name)} is a fixed-amount arm; use a percent or free-shipping arm (usually arm 0, no discount) as the holdout's baseline`);
  }
  if (typeof salt !== 'string') throw new DiscoError('INVALID_ARGUMENT', 'holdout.salt must be a string');
  const threshold = share >= 1 ? M64 + 1n : BigInt(Math.floor(share * 2 ** 53)) << 11n;
  return { share, arm: index, spec, salt: fnv1a64(salt), threshold };
}

/** Whether the shopper with this user key is in the holdout. */
export function inHoldout(h, userKey) {
  return !!h && mix64((BigInt.asUintN(64, userKey) ^ h.salt) & M64) < h.threshold;
}

/** The baseline offer of a holdout shopper: { decisionId, arm, discount, propensity: 1, expiresAt }. */
export function holdoutDecision(h, summary, price, now, cryptoImpl) {
  let id = toHex(randomBytes(16, cryptoImpl));
  if (/^0+$/.test(id)) id = id.slice(0, 31) + '1';
  return {
    decisionId: id, arm: h.arm, banditArm: h.arm,
    discount: h.spec.kind === 'percent' && price > 0 ? h.spec.value : 0,
    propensity: 1, expiresAt: now + (summary.offerTtlS ?? 900) * 1000,
  };
}

/** A holdout shopper's cart decision (cartLines() `cart`): arm 0, no discount. */
export const holdoutCart = (cart) => ({ arm: 0, banditArm: 0, discount: 0, terms: { scope: 'cart', cart: cart.items, amount: 0, minSpend: 0 } });
