// demo/edge/worker.js under Node (demo/edge/run.mjs): /recommend and /offer through the SDK's edge
// adapter, session state carried in the encrypted cookie, offer tokens that the checkout verifies, and
// a tampered bundle refused with a clear error.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { makeEnv, serveWorker } from '../../demo/edge/run.mjs';
import { verifyOfferToken } from '../../sdk-js/src/node.js';
import { fixture, missing } from './helpers.mjs';
import { csvTable } from '../../lib/csv.mjs';

const skip = missing();

// Node 18's fetch hides Set-Cookie from Response.headers (Node >= 19.7 does not): requests whose
// cookie the test reads go over node:http. Resolves { status, cookie, json }.
function call(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, cookie: res.headers['set-cookie']?.[0] ?? null,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (e) { reject(e); }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('edge worker', { skip: skip ?? false }, () => {
  const secret = randomBytes(24).toString('hex');
  let fx; let srv; let items;
  before(async () => {
    fx = fixture();
    items = csvTable(readFileSync(`${fx.dir}/items.csv`, 'utf8')).rows.filter((f) => f[5] === '1').map((f) => f[0]);
    srv = await serveWorker(await makeEnv({ bundle: fx.bundle, publicKey: fx.publicKey, tokenSecret: secret }), { port: 0 });
  });
  after(() => srv?.close());

  test('/health reports the verified bundle', async () => {
    const r = await fetch(`${srv.url}/health`);
    assert.equal(r.status, 200);
    const h = await r.json();
    assert.equal(h.ok, true);
    assert.equal(h.modelVersion, 'browser-test-fixture');
    assert.equal(h.signed, true);
  });

  test('/recommend and /offer keep the shopper in an encrypted cookie', async () => {
    const r1 = await call(`${srv.url}/recommend?k=5`);
    assert.equal(r1.status, 200);
    const cookie = r1.cookie;
    assert.match(cookie, /^disco=c1\.[^;]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax/);
    const recs = r1.json.items;
    assert.equal(recs.length, 5);
    for (const it of recs) assert.equal(typeof it.itemId, 'string');
    // the shopper views two items; the next request carries the cookie and the views
    const viewed = items.slice(0, 2);
    const r2 = await call(`${srv.url}/offer`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie: cookie.split(';')[0] },
      body: JSON.stringify({ item: viewed[1], events: viewed.map((itemId) => ({ type: 'view', itemId })) }),
    });
    assert.equal(r2.status, 200);
    const offer = r2.json;
    assert.equal(offer.itemId, viewed[1]);
    assert.match(offer.decisionId, /^[0-9a-f]{32}$/);
    assert.ok(offer.propensity > 0 && offer.propensity <= 1);
    assert.ok(offer.expiresAt > Date.now());
    // the token verifies at checkout with the same secret, not with another, and not after edits
    const claims = await verifyOfferToken(offer.token, secret);
    assert.equal(claims.decisionId, offer.decisionId);
    assert.equal(claims.discount, offer.discount);
    await assert.rejects(verifyOfferToken(offer.token, 'another-secret-0123456789'), { code: 'TOKEN_INVALID' });
    // the session remembers what was seen: a recommendation excludes the viewed items
    const c2 = r2.cookie.split(';')[0];
    const r3 = await fetch(`${srv.url}/recommend?k=50`, { headers: { cookie: c2 } });
    const after = (await r3.json()).items.map((x) => x.itemId);
    for (const v of viewed) assert.ok(!after.includes(v), `viewed ${v} is not recommended again`);
  });

  test('errors are typed JSON', async () => {
    let r = await fetch(`${srv.url}/offer?item=no-such-item`);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error.code, 'UNKNOWN_ITEM');
    r = await fetch(`${srv.url}/nope`);
    assert.equal(r.status, 404);
    r = await fetch(`${srv.url}/offer`, { method: 'POST', body: 'not json' });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, 'INVALID_ARGUMENT');
  });

  test('a tampered bundle is refused', async () => {
    // a fresh module instance: a new isolate (the first one verified the good bundle once and keeps it)
    const { default: fresh } = await import('../../demo/edge/worker.js?isolate=tampered');
    const bad = await serveWorker(await makeEnv({ bundle: fx.tampered, publicKey: fx.publicKey, tokenSecret: secret }), { port: 0, module: fresh });
    try {
      const h = await fetch(`${bad.url}/health`);
      assert.equal(h.status, 503);
      assert.equal((await h.json()).error.code, 'SIGNATURE');
      const r = await fetch(`${bad.url}/offer?item=${encodeURIComponent(items[0])}`);
      assert.ok(r.status >= 500);
      assert.equal((await r.json()).error.code, 'SIGNATURE');
    } finally {
      await bad.close();
    }
  });
});
