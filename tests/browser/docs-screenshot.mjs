#!/usr/bin/env node
// Takes docs/storefront.png (the README's picture) from a running demo:
//   demo/serve.sh &   then   node tests/browser/docs-screenshot.mjs [--url http://127.0.0.1:8080/] [--out docs/storefront.png]
// Browses a few products like a shopper, opens a product with a personal offer, opens the panel.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { parseCli } from '../../lib/cli.mjs';
import { CHROMIUM, CHROMIUM_FLAGS, ROOT } from './helpers.mjs';

const { values: o } = parseCli({
  name: 'docs-screenshot', usage: 'usage: node tests/browser/docs-screenshot.mjs [--url http://127.0.0.1:8080/] [--out docs/storefront.png]',
  options: { url: { type: 'string', default: 'http://127.0.0.1:8080/' }, out: { type: 'string', default: join(ROOT, 'docs/storefront.png') } },
});
const profile = mkdtempSync(join(tmpdir(), 'disco-shot-'));
const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 800 } });
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  await page.goto(o.url);
  await page.waitForSelector('html[data-ready="1"]');
  const ids = [...new Set(await page.evaluate(() => [...document.querySelectorAll('a.card')].map((a) => a.dataset.item)))];
  // a short history (at least four product pages), then back to the first product that got a
  // discount (its offer is reused while unexpired; the per-shopper cooldown blocks a second one)
  let deal = null;
  let seen = 0;
  for (const id of ids.slice(0, 40)) {
    await page.evaluate((x) => { location.hash = `#/p/${encodeURIComponent(x)}`; }, id);
    await page.waitForFunction((x) => window.__disco.lastOffer?.itemId === x || document.documentElement.dataset.disco === 'off', id);
    seen++;
    if (!deal && await page.locator('[data-testid="offer-badge"]').count()) deal = id;
    if (deal && seen >= 4) break;
  }
  if (!deal) throw new Error('no discounted offer in 40 product views');
  await page.evaluate(() => { location.hash = '#/'; });
  await page.waitForSelector('[data-testid="recommendations"]');
  await page.evaluate((x) => { location.hash = `#/p/${encodeURIComponent(x)}`; }, deal);
  await page.waitForSelector('[data-testid="offer-badge"]');
  await page.click('#panel-toggle');
  await page.waitForSelector('[data-testid="last-offer"] dl');
  await page.waitForTimeout(300);
  await page.screenshot({ path: o.out });
  console.log(`${o.out}: ${statSync(o.out).size} bytes`);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
