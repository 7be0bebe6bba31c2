// Cross-platform: the native CLI (`disco replay ... --learn`) and the WASM SDK replay the same
// simulated event log (>= 100k events, from disco-sim) against the same bundle and must make the
// same decisions: decision id, arm, bandit arm, discount, propensity, purchase propensity, expiry.
// The JS side mirrors runtime/cli/disco_cli.cpp's replay loop exactly (sessions keyed by
// user_id + session_id, user key = XXH64(user_id), LRU eviction above 20000 sessions, offers on
// cart events, purchases convert pending offers, at most 4096 pending).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, verifyBundle } from '../../sdk-js/src/node.js';
import { BundleRef, RuntimeRef } from '../../sdk-js/src/engine.js';
import { readModelSummary } from '../../sdk-js/src/bundle.js';
import { findBuilt, makeBundleTool, testKey, wasmBytes } from './helpers.mjs';
import { xxh64 } from './xxh64.mjs';
import { csvTable } from '../../lib/csv.mjs';

const cli = findBuilt('runtime/cli/disco', 'DISCO_CLI');
const sim = findBuilt('trainer/sim/disco-sim', 'DISCO_SIM');
const SEED = 9n;
const TYPES = { view: 0, click: 1, cart: 2, remove: 3, purchase: 4 };

const skip = !cli || !sim
  ? `needs the native CLI and simulator (build/release/runtime/cli/disco, build/release/trainer/sim/disco-sim): ${!cli ? 'disco missing' : ''} ${!sim ? 'disco-sim missing' : ''}`
  : false;

async function replayWasm(wasm, bundleBytes, eventsCsv) {
  const engine = await Engine.load(wasm);
  const bundle = new BundleRef(engine, bundleBytes);
  const summary = readModelSummary((await verifyBundle(bundleBytes, testKey().spki)).payload);
  const rt = new RuntimeRef(engine, bundle, { seed: SEED, mode: 0 });
  const { header, rows } = csvTable(eventsCsv);
  const col = Object.fromEntries(['user_id', 'session_id', 'ts', 'type', 'item_id', 'price', 'quantity'].map((n) => [n, header.indexOf(n)]));
  const enc = new TextEncoder();
  const sessions = new Map(); // key -> { s, lastUse }
  let use = 0;
  const pending = [];
  const out = [];
  for (const f of rows) {
    const type = TYPES[f[col.type].toLowerCase()] ?? (/^[0-4]$/.test(f[col.type]) ? Number(f[col.type]) : -1);
    const ts = Number(f[col.ts]);
    assert.ok(type >= 0 && f[col.user_id] && Number.isSafeInteger(ts), `clean simulator row expected: ${f.join(',')}`);
    const item = bundle.index(f[col.item_id]);
    const price = f[col.price] ? Math.fround(parseFloat(f[col.price])) : 0;
    const qty = f[col.quantity] ? parseInt(f[col.quantity], 10) : 1;
    const key = `${f[col.user_id]}\x1f${f[col.session_id]}`;
    let slot = sessions.get(key);
    if (!slot) {
      if (sessions.size + 1 > 20000) {
        const byUse = [...sessions.entries()].sort((a, b) => a[1].lastUse - b[1].lastUse);
        for (let i = 0; i < Math.floor(byUse.length / 2); i++) {
          byUse[i][1].s.free();
          sessions.delete(byUse[i][0]);
        }
      }
      slot = { s: rt.createSession(xxh64(enc.encode(f[col.user_id]))), lastUse: 0 };
      sessions.set(key, slot);
    }
    slot.lastUse = ++use;
    slot.s.observe(item, type, ts, price, qty);
    if (type === 4) {
      for (let i = 0; i < pending.length;) {
        const p = pending[i];
        if (p.key === key && p.item === item && ts <= p.expiresAt) {
          const q = Math.max(qty, 1);
          const paid = Math.fround(p.price * Math.fround(1 - p.discount));
          const cost = summary.cost ? summary.cost[item] : 0;
          rt.update(p.decisionId, { ts, converted: true, revenue: Math.fround(paid * q), reward: Math.fround(Math.fround(paid - cost) * q) });
          pending[i] = pending[pending.length - 1];
          pending.pop();
        } else {
          i++;
        }
      }
    }
    if (type !== 2) continue;
    const o = slot.s.offer(item, ts);
    out.push(o);
    rt.shown(o.decisionId);
    pending.push({ decisionId: o.decisionId, key, item, expiresAt: o.expiresAt, discount: o.discount, price: summary.price ? summary.price[item] : 0 });
    if (pending.length > 4096) {
      rt.update(pending[0].decisionId, { ts, converted: false, revenue: 0, reward: 0 });
      pending.shift();
    }
  }
  return { offers: out, simd: engine.simd, events: rows.length };
}

const g6 = (x) => Number(Number(x).toPrecision(6));

test('cross-platform: native disco replay == WASM SDK over >= 100k simulated events', { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'disco-xplat-'));
  execFileSync(sim, ['--out', dir, '--shoppers', '10000', '--items', '2000', '--days', '14', '--seed', '3', '--dirty-rate', '0'], { stdio: 'ignore' });
  const keyPath = join(dir, 'key.pem');
  (await import('node:fs')).writeFileSync(keyPath, testKey().pem);
  const bundlePath = join(dir, 'bundle.disco');
  execFileSync(makeBundleTool(), ['--out', bundlePath, '--catalog', join(dir, 'items.csv'), '--key', keyPath], { stdio: 'ignore' });
  const decPath = join(dir, 'native.csv');
  execFileSync(cli, ['replay', bundlePath, join(dir, 'events.csv'), '--out', decPath, '--learn', '--seed', String(SEED)], { stdio: 'ignore' });
  const native = csvTable(readFileSync(decPath, 'utf8'));
  const c = Object.fromEntries(native.header.map((n, i) => [n, i]));
  const bundleBytes = new Uint8Array(readFileSync(bundlePath));
  const events = readFileSync(join(dir, 'events.csv'), 'utf8');
  const wasm = wasmBytes();
  for (const build of [{ simd: wasm.simd }, { plain: wasm.plain }]) {
    const r = await replayWasm(build, bundleBytes, events);
    assert.ok(r.events >= 100_000, `only ${r.events} events`);
    assert.equal(r.offers.length, native.rows.length, 'same number of decisions');
    assert.ok(r.offers.length > 1000);
    const arms = new Set();
    for (let i = 0; i < r.offers.length; i++) {
      const o = r.offers[i];
      const n = native.rows[i];
      const where = `decision ${i} (${r.simd ? 'simd' : 'plain'})`;
      assert.equal(o.decisionId, n[c.decision_id], `${where}: id`);
      assert.equal(o.arm, Number(n[c.arm]), `${where}: arm`);
      assert.equal(o.banditArm, Number(n[c.bandit_arm]), `${where}: bandit arm`);
      assert.equal(g6(o.propensity), Number(n[c.propensity]), `${where}: propensity`);
      assert.equal(g6(o.discount), Number(n[c.discount]), `${where}: discount`);
      assert.equal(g6(o.purchasePropensity), Number(n[c.purchase_propensity]), `${where}: purchase propensity`);
      assert.equal(o.expiresAt, Number(n[c.expires_at_ms]), `${where}: expiry`);
      arms.add(o.arm);
    }
    assert.ok(arms.size >= 3, 'the replay exercised several arms');
    console.log(`${r.simd ? 'simd' : 'plain'}: ${r.events} events, ${r.offers.length} decisions identical to native`);
  }
});
