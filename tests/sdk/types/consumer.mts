// Compiled (not run) by tests/sdk/types.test.mjs with tsc --strict: the README usage type-checks.
import { Disco, DiscoError, WriteKeyTransport, userKeyOf, verifyOfferToken, type Offer, type CartOffer, type CartOfferClaims } from '../../../sdk-js/types/node.js';
import { createEdgeHandler } from '../../../sdk-js/types/edge.js';
async function main() {
  const d = await Disco.create({ bundle: new Uint8Array(1), publicKey: 'pem', userId: 'x', userKeySalt: 'salt-of-16-bytes', seed: 1, collector: { url: 'u', key: 'k' } });
  const key: bigint = await userKeyOf('x', 'salt-of-16-bytes');
  const page = await Disco.create({ bundle: new Uint8Array(1), userKey: key, collector: { url: '/v1/events', writeKey: 'wk' } });
  const wt = new WriteKeyTransport({ url: '/v1/events', writeKey: 'wk' });
  wt.close(); page.close();
  d.track({ type: 'view', itemId: 'sku-1' });
  const recs = d.recommend({ k: 10, exclude: ['a'] });
  const ranked: Array<{ itemId: string; score: number | null }> = d.rank(['sku-2', 'sku-1'], { exclude: ['a'], category: 2 });
  const o: Offer = await d.offer('sku-1');
  d.shown(o.decisionId);
  const r = d.report(o.decisionId, { converted: true, revenue: 1, margin: 0.5 });
  const co: CartOffer = await d.offerCart([{ itemId: 'sku-1', quantity: 2 }, { itemId: 3 }]);
  const terms: [number, number, 'cart', string] = [co.amount, co.minSpend, co.scope, co.cart[0].itemId];
  const claims: CartOfferClaims = await verifyOfferToken(co.token, 'secret-of-16-bytes', { cart: co.cart, total: 60 });
  const amount: number = claims.amount + terms[0];
  // @ts-expect-error a cart offer has no itemId
  co.itemId;
  const s: Uint8Array = d.saveState();
  await Disco.restore({ bundle: new Uint8Array(1), state: s });
  const h = createEdgeHandler({ bundle: (env: any) => env.B, tokenSecret: 'x', userKeySalt: (env: any) => env.SALT, sessionTtlS: 3600 });
  const res: Response = await h.fetch(new Request('https://x/offer'));
  try { d.track({ type: 'bogus' as any, itemId: 1 }); } catch (e) { if (e instanceof DiscoError && e.code === 'UNKNOWN_ITEM') {} }
  return [recs[0].itemId, r.applied, res.status, amount];
}
main();
// @ts-expect-error wrong event type
new Disco().track({ type: 'like', itemId: 'a' });
// @ts-expect-error a WriteKeyTransport takes no secret
new WriteKeyTransport({ url: 'u', writeKey: 'wk', key: 'secret' });
