// The shipped browser build (esbuild-minified src/index.js, as dist/disco.min.js) in Debian's
// headless Chromium: SIMD128 detected, wasm compiled from a URL, bundle fetched and its signature
// verified with the browser's WebCrypto, an offer made, the batch POSTed with the site's public
// write key (a page holds no secret: tokenSecret and collector.key are refused there); and the
// offline queue in localStorage carried from one page load to the next (collector down).
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, testKey, wasmBytes } from './helpers.mjs';
import { minified } from '../../sdk-js/build.mjs';

const CHROMIUM = process.env.DISCO_CHROMIUM ?? '/usr/bin/chromium';
const WRITE_KEY = 'wk_site_public_write_key';
const SALT = 'site-user-key-salt-0123';

test('browser: minified SDK + disco-simd.wasm in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)`, timeout: 120_000 }, async () => {
  const js = await minified('src/index.js'); // the shipped dist/disco.min.js (sdk-js/build.mjs)
  const wasm = wasmBytes();
  const bundle = makeBundle();
  const pub = Buffer.from(testKey().spki).toString('base64');
  const page = `<!doctype html><html><body><pre id="out">pending</pre><script type="module">
    import { Disco, hasSimd } from '/disco.min.js';
    const out = document.getElementById('out');
    try {
      const d = await Disco.create({ wasm: { simd: '/disco-simd.wasm', plain: '/disco.wasm' }, bundle: fetch('/bundle.disco'),
        publicKey: '${pub}', seed: 3, userId: 'u1', userKeySalt: '${SALT}', storage: localStorage, collector: { url: '/v1/batch', writeKey: '${WRITE_KEY}' } });
      d.track({ type: 'view', itemId: 'item-3' });
      const recs = d.recommend({ k: 3 });
      const o = await d.offer('item-4');
      d.shown(o.decisionId);
      const flushed = (await d.flush()).ok;
      let refused = null;
      try { await Disco.create({ wasm: { plain: '/disco.wasm' }, bundle: fetch('/tampered.disco'), publicKey: '${pub}' }); } catch (e) { refused = e.code; }
      const secrets = [];
      for (const o of [{ tokenSecret: 'offer-token-secret-0123' }, { collector: { url: '/v1/batch', key: 'site-secret-0123456789' } }]) {
        try { await Disco.create({ wasm: { plain: '/disco.wasm' }, bundle: fetch('/bundle.disco'), publicKey: '${pub}', ...o }); secrets.push('accepted'); } catch (e) { secrets.push(e.code + ': ' + e.message); }
      }
      out.textContent = JSON.stringify({ simd: d.info.simd, probe: hasSimd(), recs: recs.length, decisionId: o.decisionId, flushed, refused, secrets, userKey: String(d.userKey) });
    } catch (e) { out.textContent = JSON.stringify({ error: e.code ?? e.name, message: e.message }); }
  </script></body></html>`;
  const tampered = bundle.slice();
  tampered[bundle.length >> 1] ^= 1;
  const batches = [];
  const files = {
    '/': ['text/html', page], '/disco.min.js': ['text/javascript', js], '/disco-simd.wasm': ['application/wasm', wasm.simd],
    '/disco.wasm': ['application/wasm', wasm.plain], '/bundle.disco': ['application/octet-stream', bundle],
    '/tampered.disco': ['application/octet-stream', tampered],
  };
  const srv = createServer((req, res) => {
    if (req.url === '/v1/batch') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        // the public write key, and nothing signed: the page has no secret to sign with
        const okAuth = req.headers['x-disco-write-key'] === WRITE_KEY && !req.headers['x-disco-signature'] && !req.headers['x-disco-key'];
        batches.push({ okAuth, batch: JSON.parse(body) });
        res.writeHead(okAuth ? 200 : 401).end('{}');
      });
      return;
    }
    const f = files[req.url];
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${srv.address().port}/`;
    const dom = await new Promise((resolve, reject) => execFile(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--virtual-time-budget=30000', '--dump-dom', url], { timeout: 100_000 }, (e, out) => (e ? reject(e) : resolve(out))));
    const text = (dom.match(/<pre id="out">([^<]*)<\/pre>/) ?? [])[1];
    assert.ok(text && text !== 'pending', `page did not finish: ${dom.slice(0, 300)}`);
    const r = JSON.parse(text.replace(/&quot;/g, '"'));
    assert.equal(r.error, undefined, r.message);
    assert.deepEqual({ simd: r.simd, probe: r.probe, recs: r.recs, flushed: r.flushed, refused: r.refused }, { simd: true, probe: true, recs: 3, flushed: true, refused: 'SIGNATURE' });
    assert.equal(batches.length, 1);
    assert.equal(batches[0].okAuth, true);
    assert.equal(batches[0].batch.decisions[0].decision_id, r.decisionId);
    assert.equal(batches[0].batch.activations[0].decision_id, r.decisionId);
    assert.equal(batches[0].batch.events.length, 0, 'tracked events stay in the page by default');
    for (const m of r.secrets) assert.match(m, /^INVALID_ARGUMENT: a page must not hold tokenSecret or collector\.key .*collector\.writeKey/);
    const { userKeyOf } = await import('../../sdk-js/src/node.js');
    assert.equal(r.userKey, String(await userKeyOf('u1', SALT)), 'the page\'s WebCrypto gives the same keyed user key');
    assert.equal(batches[0].batch.decisions[0].user_key, r.userKey);
  } finally {
    srv.close();
  }
});

test('browser: the offline queue in localStorage survives a page load while the collector is down; the next page sends it', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)`, timeout: 180_000 }, async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const js = await minified('src/index.js'); // the shipped dist/disco.min.js (sdk-js/build.mjs)
  const wasm = wasmBytes();
  const pub = Buffer.from(testKey().spki).toString('base64');
  const page = (body) => `<!doctype html><html><body><pre id="out">pending</pre><script type="module">
    import { Disco } from '/disco.min.js';
    const out = document.getElementById('out');
    try {
      const d = await Disco.create({ wasm: { simd: '/disco-simd.wasm', plain: '/disco.wasm' }, bundle: fetch('/bundle.disco'),
        publicKey: '${pub}', userId: 'u1', userKeySalt: '${SALT}', storage: localStorage, collector: { url: '/v1/events', writeKey: '${WRITE_KEY}', quiet: true, flushIntervalMs: 60000 } });
      ${body}
    } catch (e) { out.textContent = JSON.stringify({ error: e.code ?? e.name, message: e.message }); }
  </script></body></html>`;
  const files = {
    '/first': ['text/html', page(`const o = await d.offer('item-4'); d.shown(o.decisionId);
      const r = await d.flush(); d.close();
      out.textContent = JSON.stringify({ decisionId: o.decisionId, ok: r.ok, queued: r.queued, stored: (localStorage.getItem('disco.transport') ?? '').length });`)],
    '/second': ['text/html', page(`const r = await d.flush(); d.close();
      out.textContent = JSON.stringify({ ok: r.ok, sent: r.sent, queued: r.queued });`)],
    '/disco.min.js': ['text/javascript', js], '/disco-simd.wasm': ['application/wasm', wasm.simd],
    '/disco.wasm': ['application/wasm', wasm.plain], '/bundle.disco': ['application/octet-stream', makeBundle()],
  };
  let up = false;
  const batches = [];
  const srv = createServer((req, res) => {
    if (req.url === '/v1/events') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (!up) { res.writeHead(503).end('down'); return; }
        batches.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200).end('{}');
      });
      return;
    }
    const f = files[req.url];
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const profile = mkdtempSync(join(tmpdir(), 'disco-chromium-')); // one profile: the second load sees the first's localStorage
  const load = async (path) => {
    const dom = await new Promise((resolve, reject) => execFile(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', `--user-data-dir=${profile}`, '--virtual-time-budget=30000', '--dump-dom', `http://127.0.0.1:${srv.address().port}${path}`],
    { timeout: 100_000 }, (e, out) => (e ? reject(e) : resolve(out))));
    const text = (dom.match(/<pre id="out">([^<]*)<\/pre>/) ?? [])[1];
    assert.ok(text && text !== 'pending', `${path} did not finish: ${dom.slice(0, 300)}`);
    const r = JSON.parse(text.replace(/&quot;/g, '"'));
    assert.equal(r.error, undefined, r.message);
    return r;
  };
  try {
    const first = await load('/first');
    assert.equal(first.ok, false, 'the collector is down: not delivered');
    assert.equal(first.queued, 2, 'the decision and its activation wait');
    assert.ok(first.stored > 0, 'persisted in localStorage');
    assert.equal(batches.length, 0);
    up = true;
    const second = await load('/second');
    assert.deepEqual(second, { ok: true, sent: 2, queued: 0 });
    const all = batches.flatMap((b) => b.decisions);
    assert.deepEqual(all.map((x) => x.decision_id), [first.decisionId], 'the first page\'s decision arrived from the second');
    assert.deepEqual(batches.flatMap((b) => b.activations).map((x) => x.decision_id), [first.decisionId]);
  } finally {
    srv.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
