// Compiled (not run) by tests/sdk/types.test.mjs with tsc --strict: the README usage type-checks.
import { Disco, DiscoError, type Offer } from '../../../sdk-js/types/node.js';
import { createEdgeHandler } from '../../../sdk-js/types/edge.js';
async function main() {
  const d = await Disco.create({ bundle: new Uint8Array(1), publicKey: 'pem', userId: 'x', seed: 1, collector: { url: 'u', key: 'k' } });
  d.track({ type: 'view', itemId: 'sku-1' });
  const recs = d.recommend({ k: 10, exclude: ['a'] });
  const ranked: Array<{ itemId: string; score: number | null }> = d.rank(['sku-2', 'sku-1'], { exclude: ['a'], category: 2 });
  const o: Offer = await d.offer('sku-1');
  d.shown(o.decisionId);
  const r = d.report(o.decisionId, { converted: true, revenue: 1, margin: 0.5 });
  const s: Uint8Array = d.saveState();
  await Disco.restore({ bundle: new Uint8Array(1), state: s });
  const h = createEdgeHandler({ bundle: (env: any) => env.B, tokenSecret: 'x' });
  const res: Response = await h.fetch(new Request('https://x/offer'));
  try { d.track({ type: 'bogus' as any, itemId: 1 }); } catch (e) { if (e instanceof DiscoError && e.code === 'UNKNOWN_ITEM') {} }
  return [recs[0].itemId, r.applied, res.status];
}
main();
// @ts-expect-error wrong event type
new Disco().track({ type: 'like', itemId: 'a' });
