// sendBeacon on a real page going hidden, checked at the real collector: the shipped browser build
// (dist/disco.min.js, built here by sdk-js/build.mjs) in Debian's headless chromium, the page on its
// own origin, the collector (disco-collector serve, a write key allowed for that origin) on another.
// The page decides an offer, shows it and reports the purchase with no flush timer running (the
// transport's interval is 10 minutes), then goes away: navigated elsewhere (pagehide, the page
// hidden). The queued records must arrive through navigator.sendBeacon: the collector's canonical
// export holds the decision and its activation, and the write-key outcome is counted apart
// (reported, never a reward). (visibilitychange alone is not exercised: headless Chromium keeps a
// page 'visible' with its window minimized or another page in front; tried with playwright's
// bringToFront and CDP Browser.setWindowBounds. The SDK handles both events with one handler.)
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { minified } from '../../sdk-js/build.mjs';
import { makeBundle, testKey, wasmBytes, findBuilt } from '../sdk/helpers.mjs';
import { startCollector } from '../sdk/real-collector.mjs';
import { CHROMIUM, CHROMIUM_FLAGS } from './helpers.mjs';

const WRITE_KEY = 'wk_public_write_key_of_the_beacon_site';

const page = (pub, collectorUrl, item) => `<!doctype html><html><body><pre id="out">pending</pre><script type="module">
  import { Disco } from '/disco.min.js';
  const out = document.getElementById('out');
  try {
    const d = await Disco.create({ wasm: { simd: '/disco-simd.wasm', plain: '/disco.wasm' }, bundle: fetch('/bundle.disco'),
      publicKey: '${pub}', storage: localStorage,
      collector: { url: '${collectorUrl}', writeKey: '${WRITE_KEY}', flushIntervalMs: 600000 } });
    window.disco = d;
    d.track({ type: 'view', itemId: '${item}' });
    const o = await d.offer('${item}');
    d.shown(o.decisionId);
    d.report(o.decisionId, { converted: true, revenue: 9, margin: 2 });
    out.textContent = JSON.stringify({ decisionId: o.decisionId, queued: d.transport.size });
  } catch (e) { out.textContent = JSON.stringify({ error: e.code ?? e.name, message: e.message }); }
</script></body></html>`;

const missing = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium)`
  : !findBuilt('collector/disco-collector', 'DISCO_COLLECTOR') ? 'disco-collector not built: run scripts/setup.sh' : false;

test('beacon: a page navigated away (pagehide) delivers its queue by sendBeacon to the collector', { skip: missing, timeout: 180_000 }, async (t) => {
  const js = await minified('src/index.js');
  const wasm = wasmBytes();
  const pub = Buffer.from(testKey().spki).toString('base64');
  const pages = {};
  const srv = createServer((req, res) => {
    const path = req.url.split('?')[0];
    const f = pages[path] ?? {
      '/disco.min.js': ['text/javascript', js], '/disco-simd.wasm': ['application/wasm', wasm.simd],
      '/disco.wasm': ['application/wasm', wasm.plain], '/bundle.disco': ['application/octet-stream', bundle],
      '/away': ['text/html', '<!doctype html><p>elsewhere</p>'],
    }[path];
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  const bundle = makeBundle();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const origin = `http://127.0.0.1:${srv.address().port}`;
  const col = await startCollector({ args: ['--write-key', `shop:${WRITE_KEY}:${origin}`] });
  t.after(() => col.stop());
  col.publish(bundle); // the served catalog (write-key decisions are priced from it)

  const profile = mkdtempSync(join(tmpdir(), 'disco-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  t.after(async () => { await ctx.close(); rmSync(profile, { recursive: true, force: true }); });

  const beacons = []; // the page's side: what left as a beacon (playwright names its resource type 'ping')
  ctx.on('request', (r) => { if (r.url().startsWith(col.base)) beacons.push({ type: r.resourceType(), url: r.url() }); });
  async function open(path, item) {
    pages[path] = ['text/html', page(pub, col.url, item)];
    const p = await ctx.newPage();
    await p.goto(`${origin}${path}`);
    await p.waitForFunction(() => document.getElementById('out').textContent !== 'pending', null, { timeout: 60_000 });
    const r = JSON.parse(await p.textContent('#out'));
    assert.equal(r.error, undefined, r.message);
    assert.ok(r.queued >= 2, `the page queued its decision, activation and outcome (queue ${r.queued})`);
    return { p, decisionId: r.decisionId };
  }
  async function arrived(decisionId) { // polled at the collector: the decision and its activation in the canonical export
    for (let i = 0; i < 100; i++) {
      const ex = col.exportCanonical();
      const dec = ex.read('decisions.csv'), act = ex.read('activations.csv');
      rmSync(ex.dir, { recursive: true, force: true });
      if (dec.includes(decisionId) && act.includes(decisionId)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  // the page is navigated away: pagehide (with visibilityState 'hidden')
  const b = await open('/b', 'item-7');
  const mid = beacons.length;
  await b.p.goto(`${origin}/away`);
  assert.ok(await arrived(b.decisionId), `decision ${b.decisionId} did not reach the collector after pagehide\n${col.log()}`);
  assert.ok(beacons.slice(mid).some((x) => x.type === 'ping'), `no beacon at pagehide: ${JSON.stringify(beacons.slice(mid))}`);

  // the outcomes a page reported with the write key were stored apart: counted, never rewards
  const metrics = await (await fetch(`${col.base}/metrics`)).text();
  const reported = Number(/disco_collector_reported_outcomes_total(?:\{[^}]*\})? (\d+)/.exec(metrics)?.[1] ?? NaN);
  assert.equal(reported, 1, `the page's reported outcome in /metrics:\n${metrics.split('\n').filter((l) => /reported/.test(l)).join('\n')}`);
  const ex = col.exportCanonical();
  assert.ok(!ex.read('outcomes.csv').includes(b.decisionId), 'a page-reported outcome is not in the training export');
  rmSync(ex.dir, { recursive: true, force: true });
});
