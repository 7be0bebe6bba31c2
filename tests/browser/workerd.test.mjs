// sdk-js/README.md's edge example in workerd (npm package `workerd`, a devDependency of this
// folder): the quickstart's setup in a blank folder (packed tarball, disco-sim, disco-train, the
// real collector), then the README's worker.js and config.capnp as written, served by workerd:
// an offer with a token and a signed session cookie, the shopper's state carried by the cookie,
// and the decision delivered by the worker to the collector. The README's `npm install workerd`
// step is replaced by linking this folder's installed copy (the ~155 MB download happens once, in
// scripts/setup.sh's npm ci).
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quickstart, stop } from '../sdk/readme-blocks.mjs';
import { findBuilt, wasmBytes } from '../sdk/helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKERD = join(HERE, 'node_modules/workerd');

test('workerd: the README edge worker runs in workerd from npm, verbatim, and reaches the collector', { timeout: 600_000 }, async (t) => {
  assert.ok(existsSync(join(WORKERD, 'bin/workerd')), 'tests/browser/node_modules/workerd missing: run npm ci in tests/browser (scripts/setup.sh)');
  wasmBytes();
  assert.ok(findBuilt('collector/disco-collector') && findBuilt('trainer/model/disco-train'), 'native tools missing: run scripts/setup.sh');
  const q = await quickstart();
  await q.bash(q.blocks.filter((b) => b.lang === 'sh' && !b.tag).map((b) => b.code).join('\n'));
  const col = await q.background(q.blocks.find((b) => b.tag === 'collector').code, q.shop, /listening on/, 'collector');
  t.after(() => stop(col.child));
  for (const tag of ['worker.js', 'config.capnp']) q.write(q.blocks.find((b) => b.tag === tag));
  assert.ok(q.blocks.some((b) => b.tag === 'edge-install' && /npm install .*workerd/.test(b.code)), 'the README says how to install workerd');
  mkdirSync(join(q.shop, 'node_modules/.bin'), { recursive: true });
  symlinkSync(WORKERD, join(q.shop, 'node_modules/workerd'));
  symlinkSync('../workerd/bin/workerd', join(q.shop, 'node_modules/.bin/workerd'));
  const serve = q.blocks.find((b) => b.tag === 'edge-serve').code.replace(/#.*$/gm, '');
  const edgeUrl = `http://127.0.0.1:${q.ports[8789]}`;
  const wd = await q.background(serve, q.shop, null, 'workerd');
  t.after(() => stop(wd.child));
  let res;
  for (let i = 0; i < 200; i++) {
    try { res = await fetch(`${edgeUrl}/recommend?k=3`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  assert.ok(res, `workerd did not answer on ${edgeUrl}`);
  assert.equal(res.status, 200, await res.clone().text());
  // the README's curl
  const out = await q.bash(q.blocks.find((b) => b.tag === 'edge-try').code, q.shop, 30_000);
  const offer = JSON.parse(out);
  assert.match(offer.decisionId, /^[0-9a-f]{32}$/);
  assert.equal(offer.itemId, 'i7');
  assert.match(offer.token, /^v1\./);
  // the session cookie carries the shopper: tracked items are not recommended back
  res = await fetch(`${edgeUrl}/track`, { method: 'POST', body: JSON.stringify({ events: [{ type: 'view', itemId: 'i3' }, { type: 'cart', itemId: 'i4' }] }) });
  const cookie = res.headers.get('set-cookie');
  assert.match(cookie, /^disco=c1\.[A-Za-z0-9_-]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
  console.log(`workerd: session cookie ${cookie.split(';')[0].length} chars (1000-item, h = 64 bundle)`);
  const rec = await (await fetch(`${edgeUrl}/recommend?k=50`, { headers: { cookie: cookie.split(';')[0] } })).json();
  assert.equal(rec.items.length, 50);
  assert.ok(!rec.items.some((r) => r.itemId === 'i3' || r.itemId === 'i4'));
  // the worker delivered the decision to the collector (ctx.waitUntil flush)
  let joined = '';
  for (let i = 0; i < 50 && !joined.includes(offer.decisionId); i++) {
    await new Promise((r) => setTimeout(r, 200));
    joined = await q.bash('$B/collector/disco-collector export --data collector-data --out edge.csv --include-pending >/dev/null && cat edge.csv', q.shop, 30_000);
  }
  assert.ok(joined.includes(offer.decisionId), `decision ${offer.decisionId} not in the collector's export:\n${joined}\n--- workerd\n${readFileSync(wd.log, 'utf8')}`);
});
