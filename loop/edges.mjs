// The edge fleet: each edge worker is one createEdgeHandler of @disco/sdk (one runtime per isolate:
// bandit, guardrails), driven with real Request objects; the shoppers' sessions in a KV store (exact
// state), each shopper's cookie kept by the shopper. startFleet builds it; fleetSync is what every
// edge does at the end of a time step (send buffered events, flush the transport, fleet sync).
import fs from 'node:fs';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import { csvRows } from '../lib/csv.mjs';
import { fmt } from './format.mjs';
import { createEdgeHandler } from './sdk.mjs';

class MemKV {
  constructor() { this.m = new Map(); }
  async get(k) { return this.m.get(k) ?? null; }
  async put(k, v) { this.m.set(k, v); }
}

// WebCrypto with seeded getRandomValues (session ids, holdout decision ids): a rerun gives the same
// user keys, hence the same holdout membership and the same decisions. Signatures and HMACs are
// node:crypto's.
// splitmix64 (one stream per edge): the start is the mixed seed, so two edges' streams (seeds s and
// s + 1) do not overlap (a plain s x golden start would make edge 1's stream edge 0's shifted by one
// draw: the same session ids, hence user keys, on different edges).
function seededCrypto(seed) {
  const mix = (v) => {
    let z = BigInt.asUintN(64, v);
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  };
  let x = mix(mix(BigInt(seed) ^ 0x6a09e667f3bcc909n));
  const next = () => {
    x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
    return mix(x);
  };
  return {
    subtle: webcrypto.subtle,
    getRandomValues(a) {
      const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let i = 0; i < b.length; i += 8) {
        let v = next();
        for (let k = 0; k < 8 && i + k < b.length; k++) { b[i + k] = Number(v & 0xffn); v >>= 8n; }
      }
      return a;
    },
  };
}

export class Edge {
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.cookies = new Map();   // shopper -> "disco=..." (the shopper's browser keeps it)
    this.buffered = new Map();  // shopper -> events not yet sent to the edge (sent with the next request)
    this.pending = new Map();   // decisionId -> { holdout }
    this.stats = { offers: 0, holdout: 0, reports: 0, requests: 0, tracked: 0, syncs: 0, imports: 0, swaps: 0, banditVersion: -1, syncBytes: 0, syncMs: 0 };
    const c = ctx;
    this.handler = createEdgeHandler({
      bundle: c.firstBundle, publicKey: c.publicKey, tokenSecret: `loop-edge-token-secret-${c.seed}`,
      kv: new MemKV(), seed: BigInt(c.seed) * 1000n + BigInt(id), crypto: seededCrypto(BigInt(c.seed) * 1000n + BigInt(id)),
      now: () => c.clock.t,
      userId: (request) => request.headers.get('x-shopper-id') ?? undefined,
      collector: {
        url: `${c.collectorUrl}/v1/events`, key: c.secret, keyId: c.apiKey, senderId: `edge-${id}`, events: true,
        maxQueue: 2_000_000, batchSize: 5000, flushIntervalMs: 600_000, backoffBaseMs: 50, backoffMaxMs: 1000,
        onError: (e) => { c.transportErrors.push(`edge-${id}: ${e.message}`); },
      },
      // sync.everyMs in simulated time (the handler's clock): the loop runs one sync() at the end of
      // every step, so a request-started pull is never due in between.
      sync: { url: c.collectorUrl, everyMs: c.pullEveryS * 1000, onError: (e) => { c.syncErrors.push(`edge-${id}: ${e.message}`); } },
      holdout: c.holdout > 0 ? { share: c.holdout, arm: 0 } : undefined,
    });
  }

  async call(route, shopper, body) {
    const headers = { 'content-type': 'application/json', 'x-shopper-id': `u${shopper}` };
    const cookie = shopper === null ? null : this.cookies.get(shopper);
    if (cookie) headers.cookie = cookie;
    const res = await this.handler.fetch(new Request(`http://edge-${this.id}.loop/${route}`, { method: 'POST', headers, body: JSON.stringify(body) }));
    this.stats.requests++;
    const sc = res.headers.get('set-cookie');
    if (sc && shopper !== null) this.cookies.set(shopper, sc.split(';')[0]);
    const j = await res.json();
    if (res.status !== 200) throw new Error(`edge-${this.id} /${route}: HTTP ${res.status}: ${JSON.stringify(j)}`);
    return j;
  }

  // The storefront's events reach the edge with the shopper's next request (at most 100 per request).
  buffer(shopper, item, type, ts, price, quantity) {
    let b = this.buffered.get(shopper);
    if (!b) this.buffered.set(shopper, (b = []));
    b.push({ type, itemId: `i${item}`, ts, price, quantity });
    this.stats.tracked++;
  }

  async sendBuffered(shopper) {
    const b = this.buffered.get(shopper);
    if (!b) return;
    this.buffered.delete(shopper);
    for (let i = 0; i < b.length; i += 100) {
      const chunk = b.slice(i, i + 100);
      this.ctx.clock.t = chunk[chunk.length - 1].ts;
      await this.call('track', shopper, { events: chunk });
    }
  }

  async flushBuffers() {
    for (const shopper of [...this.buffered.keys()]) await this.sendBuffered(shopper);
  }

  // The cart page asks for an offer (with the events since the shopper's last request) and
  // displays it (deferred activation: /shown).
  async offer(shopper, item, ts) {
    let events = [];
    const b = this.buffered.get(shopper);
    if (b) {
      this.buffered.delete(shopper);
      while (b.length > 100) {
        const chunk = b.splice(0, 100);
        this.ctx.clock.t = chunk[chunk.length - 1].ts;
        await this.call('track', shopper, { events: chunk });
      }
      events = b;
    }
    this.ctx.clock.t = ts;
    const o = await this.call('offer', shopper, { item: `i${item}`, events });
    await this.call('shown', shopper, { decisionId: o.decisionId });
    this.pending.set(o.decisionId, { holdout: o.holdout });
    this.stats.offers++;
    if (o.holdout) this.stats.holdout++;
    return o;
  }

  // Checkout: the outcome reaches the edge that made the offer (local bandit update + collector),
  // with the realized margin; a purchase is a tracked event of the shopper.
  async report(decisionId, shopper, item, r) {
    const p = this.pending.get(decisionId);
    this.pending.delete(decisionId);
    this.ctx.clock.t = r.ts;
    const res = await this.call('report', null, { decisionId, converted: r.purchased, revenue: r.revenue, margin: r.margin });
    if (!p?.holdout && !res.applied) this.ctx.reportProblems.push(`${decisionId}: ${res.status}`);
    this.stats.reports++;
    if (r.purchased) this.buffer(shopper, item, 4, r.ts, r.unitPrice, r.quantity);
  }

  async flush() {
    for (let i = 0; i < 50; i++) {
      const r = await this.handler.flush();
      if (r.ok) return;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`edge-${this.id}: the collector did not take the queued records: ${this.ctx.transportErrors.slice(-1)[0] ?? ''}`);
  }

  // Fleet sync (the SDK's sync(): GET /v1/bundle and /v1/bandit-state with ETags, verify + hot swap,
  // import the fleet statistics).
  async sync() {
    this.ctx.clock.t = this.ctx.clock.stepEnd;
    const r = await this.handler.sync();
    this.stats.syncs++;
    this.stats.syncBytes += r.bytes;
    if (r.stats === 'imported') { this.stats.imports++; this.stats.banditVersion = r.version; }
    if (r.bundle === 'swapped') this.stats.swaps++;
    return r;
  }
}

/** Every edge at a step end: buffered events to the edge, the transport flushed, then the fleet sync. */
export async function fleetSync(edges) {
  for (const e of edges) await e.flushBuffers();
  await Promise.all(edges.map((e) => e.flush()));
  for (const e of edges) await e.sync();
}

/**
 * Step 4: the edge fleet on the bundle the collector publishes. Before launch the storefront already
 * runs the SDK (tracking, no offers), so each edge has seen the history days' browsing and purchases
 * of the shoppers it serves (their sessions persist); then every edge flushes and syncs once.
 * Returns { edges, edgeOf, ctx, clock }.
 */
export async function startFleet(o, col, head, publicKey, log) {
  const firstBundle = await fetch(`${col.url}/v1/bundle`);
  if (firstBundle.status !== 200) throw new Error(`GET /v1/bundle: HTTP ${firstBundle.status}`);
  const clock = { t: head.start_ms, stepEnd: head.start_ms };
  const ctx = {
    seed: o.seed, publicKey, collectorUrl: col.url, apiKey: col.apiKey, secret: col.secret, clock, pullEveryS: o.pullEveryS, holdout: o.holdout,
    firstBundle: new Uint8Array(await firstBundle.arrayBuffer()), transportErrors: [], syncErrors: [], reportProblems: [],
  };
  const edges = Array.from({ length: o.edges }, (_, i) => new Edge(i, ctx));
  const edgeOf = (shopper) => edges[shopper % edges.length];
  if (o.edgeHistory) {
    const kinds = { view: 0, click: 1, cart: 2, remove: 3, purchase: 4 };
    let n = 0;
    const file = path.join(head.history, 'events.csv');
    const { col: c, rows } = csvRows(fs.readFileSync(file, 'utf8'), file);
    for (const f of rows) {
      const shopper = Number(f[c.user_id].slice(1));
      const type = kinds[f[c.type]];
      if (type === undefined) throw new Error(`history events.csv: unknown type '${f[c.type]}'`);
      edgeOf(shopper).buffer(shopper, Number(f[c.item_id].slice(1)), type, Number(f[c.ts]), Number(f[c.price]), Number(f[c.quantity]));
      n++;
    }
    for (const e of edges) await e.flushBuffers();
    log(`edges: tracked ${fmt(n)} history events (${o.historyDays} days before launch, no offers)`);
  }
  clock.t = clock.stepEnd = head.loop_start_ms;
  for (const e of edges) { await e.flush(); await e.sync(); }
  const info = await edges[0].handler.info();
  log(`edges: ${o.edges} x createEdgeHandler (@disco/sdk, disco.wasm ${info.simd ? 'SIMD128' : 'plain'}), model ${info.modelVersion}, sessions in KV, sync every ${o.pullEveryS} s${o.holdout ? `, holdout ${o.holdout} on arm 0` : ''}`);
  return { edges, edgeOf, ctx, clock };
}
