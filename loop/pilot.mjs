// The store's randomized pilot before launch: disco-sim with the store's logging policy
// (--pilot-policy), other shoppers of the same store (the loop's seed: same catalog); its log goes to
// the collector (site "pilot") as the store's SDKs would have sent it (the SDK's Transport, the SDK's
// wire records), and everything after reads the collector's canonical export of it (pilot-log/).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { webcrypto } from 'node:crypto';
import { csvRows } from '../lib/csv.mjs';
import { fmt } from './format.mjs';
import { execFileP } from './procs.mjs';
import { exportCanonical } from './retrain.mjs';
import { Transport, decisionRecord, eventRecord, outcomeRecord, userKeyOf } from './sdk.mjs';

// events.csv's type names -> the SDK's event types (normalizeEvent: view 0 ... purchase 4)
const EVENT_TYPES = { view: 0, click: 1, cart: 2, remove: 3, purchase: 4 };

/**
 * Step 3: the pilot simulated, uploaded to the collector and exported (pilot-log/), the
 * simulator's files deleted. Returns { pilotLog, uploaded, exported }.
 */
export async function runPilot(o, { log, trainLog }, col) {
  const pilotDir = path.join(o.out, 'pilot');
  const tp = performance.now();
  await execFileP(o.discoSimBin, ['--seed', String(o.seed), '--out', pilotDir, '--shoppers', String(o.pilotShoppers + o.shoppers),
    '--items', String(o.items), '--days', '49', '--logging-policy', o.pilotPolicy, '--dirty-rate', '0', '--quiet']);
  const up = await uploadPilot(pilotDir, { url: `${col.url}/v1/events`, key: col.pilotSecret, keyId: col.pilotKey, keep: (u) => !(u[0] === 'u' && Number(u.slice(1)) < o.shoppers) });
  const pilotLog = path.join(o.out, 'pilot-log');
  const pex = await exportCanonical(o, col.data, 'pilot', pilotLog, trainLog);
  log(`pilot (${o.pilotPolicy}, 49 days, ${fmt(o.pilotShoppers)} other shoppers of the store): ${fmt(up.events)} events, ${fmt(up.decisions)} decisions, ` +
    `${fmt(up.outcomes)} outcomes sent to the collector (site pilot, SDK Transport); its canonical export: ${fmt(pex.decisions ?? 0)} decisions, ` +
    `${fmt(pex.events ?? 0)} events; ${((performance.now() - tp) / 1000).toFixed(1)} s`);
  fs.rmSync(pilotDir, { recursive: true, force: true });  // from here on only the collector's export is read
  return { pilotLog, uploaded: up, exported: pex };
}

// The store's pilot log -> the collector (site "pilot"), as its SDKs would have sent it: events,
// decisions (logged arm and propensity, the store's shopper id), activations, outcomes.
async function uploadPilot(pilotDir, { url, key, keyId, keep }) {
  const t = new Transport({ url, key, keyId, crypto: webcrypto, senderId: 'pilot-upload', maxQueue: 40_000, batchSize: 10_000, flushIntervalMs: 3_600_000, backoffBaseMs: 50, backoffMaxMs: 2000 });
  const counts = { events: 0, decisions: 0, outcomes: 0 };
  const keyOf = new Map();
  // the store's user keys, as its SDKs derive them: HMAC-SHA-256 under the site's user-key salt (a
  // secret of the pilot site's, derived from its key here), truncated to 64 bits (userKeyOf)
  const salt = `${key}/user-key`;
  const userKey = async (u) => { let k = keyOf.get(u); if (!k) keyOf.set(u, (k = (await userKeyOf(u, salt, { crypto: webcrypto })).toString())); return k; };
  const drain = async () => {
    if (t.size < 30_000) return;
    const r = await t.flush();
    if (!r.ok) throw new Error(`uploading the pilot to the collector: ${r.error?.message ?? JSON.stringify(r)}`);
  };
  const shownById = new Set();
  const items = new Map();
  const table = (name) => { const file = path.join(pilotDir, name); return csvRows(fs.readFileSync(file, 'utf8'), file); };
  { const { col: c, rows } = table('items.csv'); for (const f of rows) items.set(f[c.item_id], { price: Number(f[c.price]), cost: f[c.cost] === '' ? 0 : Number(f[c.cost]) }); }
  const ev = table('events.csv');
  for (const f of ev.rows) {
    const c = ev.col;
    if (!keep(f[c.user_id])) continue;
    const type = EVENT_TYPES[f[c.type]];
    if (type === undefined) throw new Error(`pilot events.csv: unknown type '${f[c.type]}'`);
    t.enqueue('events', eventRecord(await userKey(f[c.user_id]), { ts: Number(f[c.ts]), type, itemId: f[c.item_id], price: Number(f[c.price]), quantity: Number(f[c.quantity]) }, f[c.session_id]));
    counts.events++;
    await drain();
  }
  const hasShown = fs.existsSync(path.join(pilotDir, 'activations.csv'));
  if (hasShown) { const { col: c, rows } = table('activations.csv'); for (const f of rows) shownById.add(f[c.decision_id]); }
  const kept = new Set();
  const dec = table('decisions.csv');
  for (const f of dec.rows) {
    const c = dec.col;
    if (!keep(f[c.user_id])) continue;
    const id = f[c.decision_id];
    const it = items.get(f[c.item_id]) ?? { price: 0, cost: 0 };
    t.enqueue('decisions', decisionRecord(
      { decisionId: id, arm: Number(f[c.arm]), discount: Number(f[c.discount]), propensity: Number(f[c.propensity]) },
      { ts: Number(f[c.ts]), userKey: await userKey(f[c.user_id]), userId: f[c.user_id], itemId: f[c.item_id],
        modelVersion: f[c.model_version] || 'pilot', policyVersion: f[c.policy_version] || 'pilot', mode: 0, price: it.price, cost: it.cost },
      { shown: hasShown ? shownById.has(id) : true }));
    kept.add(id);
    counts.decisions++;
    await drain();
  }
  const outc = table('outcomes.csv');
  for (const f of outc.rows) {
    const c = outc.col;
    if (!kept.has(f[c.decision_id])) continue;
    t.enqueue('outcomes', outcomeRecord(f[c.decision_id], Number(f[c.ts]), f[c.converted] === '1' || f[c.converted] === 'true', Number(f[c.revenue]), Number(f[c.margin])));
    counts.outcomes++;
    await drain();
  }
  const r = await t.flush();
  if (!r.ok) throw new Error(`uploading the pilot to the collector: ${r.error?.message ?? JSON.stringify(r)}`);
  t.close();
  return counts;
}
