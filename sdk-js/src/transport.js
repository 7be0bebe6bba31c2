// Batching transport to the collector: bounded queue, size/time flush, one batch in flight at a
// time (order kept), capped exponential backoff with jitter, persisted offline queue (injected
// localStorage-like storage, or fileStorage() from @disco/sdk/node), drop counters carried in each
// batch, sendBeacon when the page hides. Failures are visible by default: flush() resolves with what
// was sent, is still queued and was dropped, and the first rejected batch and the first overflow
// are logged once with console.warn unless `onError` or `quiet: true` is given.
// Wire format and authentication: see README.md ("Collector protocol").
import { DiscoError } from './errors.js';
import { backoffDelay, randomBytes, subtleOf, toHex, utf8 } from './util.js';

const KINDS = ['events', 'decisions', 'outcomes', 'activations'];
// EventBatch has no dropped_activations: activations are feedback and count with outcomes.
const DROP_FIELD = { events: 'dropped_events', decisions: 'dropped_decisions', outcomes: 'dropped_outcomes', activations: 'dropped_outcomes' };

export class Transport {
  /**
   * @param {object} o
   * @param {string} o.url collector endpoint (POST)
   * @param {string|Uint8Array} o.key shared HMAC secret of the site
   * @param {string} [o.keyId] sent as x-disco-key (default: first 16 hex of SHA-256(key))
   */
  constructor(o) {
    if (!o || typeof o.url !== 'string' || !o.url) throw new DiscoError('INVALID_ARGUMENT', 'collector.url is required');
    if (o.key === undefined || o.key === null || o.key === '') throw new DiscoError('INVALID_ARGUMENT', 'collector.key is required');
    this.url = o.url;
    this.key = typeof o.key === 'string' ? utf8(o.key) : o.key;
    this.keyId = o.keyId;
    this.crypto = o.crypto;
    this.fetch = o.fetch ?? globalThis.fetch?.bind(globalThis);
    const nav = globalThis.navigator;
    this.sendBeacon = o.sendBeacon ?? (nav && typeof nav.sendBeacon === 'function' ? nav.sendBeacon.bind(nav) : null);
    this.storage = o.storage ?? null;
    this.storageKey = o.storageKey ?? 'disco.transport';
    this.maxQueue = o.maxQueue ?? 1000;
    this.batchSize = Math.min(o.batchSize ?? 100, this.maxQueue);
    this.flushIntervalMs = o.flushIntervalMs ?? 5000;
    this.backoffBaseMs = o.backoffBaseMs ?? 500;
    this.backoffMaxMs = o.backoffMaxMs ?? 60000;
    this.timeoutMs = o.timeoutMs ?? 10000;
    this.passProbability = o.passProbability ?? 1;
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    this.onError = o.onError ?? null;
    this.quiet = o.quiet === true;
    this._warned = new Set();
    if (!(this.maxQueue >= 1) || !(this.batchSize >= 1)) throw new DiscoError('INVALID_ARGUMENT', `collector.maxQueue and collector.batchSize must be >= 1, got ${this.maxQueue} and ${this.batchSize}`);
    if (!this.fetch) throw new DiscoError('UNSUPPORTED', 'fetch is not available here: pass collector.fetch');

    this.queue = [];          // [{ k, r }]
    this.inflight = null;     // batch object being sent (kept across retries: same seq)
    this.seq = 0;
    this.dropped = { dropped_events: 0, dropped_decisions: 0, dropped_outcomes: 0 };
    this.attempt = 0;
    this.stats = { sentBatches: 0, sentRecords: 0, retries: 0, rejectedBatches: 0, beacons: 0, dropped: 0 };
    this._since = Transport._emptyReport(); // what flush() reports: since the previous flush()
    this.senderId = o.senderId;
    this._timer = null;
    this._pump = null;
    this._persistQueued = false;
    this._closed = false;
    this._load();
    if (!this.senderId) this.senderId = toHex(randomBytes(8, this.crypto));
    if (this.queue.length || this.inflight) this._arm(0);

    const doc = globalThis.document;
    if (doc && typeof doc.addEventListener === 'function' && o.beaconOnHide !== false) {
      this._onHide = () => { if (doc.visibilityState === 'hidden') this.flushBeacon(); };
      doc.addEventListener('visibilitychange', this._onHide);
      globalThis.addEventListener?.('pagehide', this._onHide);
    }
  }

  get size() { return this.queue.length + (this.inflight ? this.inflight._n : 0); }

  static _emptyReport() { return { sent: 0, dropped: { events: 0, decisions: 0, outcomes: 0, activations: 0 }, error: null }; }

  _lost(kind, n, err) {
    this._since.dropped[kind] += n;
    if (err) this._since.error = err;
  }

  _warnOnce(what, message) {
    if (this.onError || this.quiet || this._warned.has(what)) return;
    this._warned.add(what);
    if (typeof console !== 'undefined') console.warn(`@disco/sdk: ${message} (logged once; pass collector.onError or collector.quiet: true to silence)`);
  }

  /** Queues one record; returns false (and counts it) when the queue is full. */
  enqueue(kind, record) {
    if (!KINDS.includes(kind)) throw new DiscoError('INVALID_ARGUMENT', `unknown record kind ${kind}`);
    if (this._closed) throw new DiscoError('STATE', 'transport is closed');
    if (this.size >= this.maxQueue) {
      this.dropped[DROP_FIELD[kind]]++;
      this.stats.dropped++;
      const err = new DiscoError('DROPPED', `the collector queue is full (collector.maxQueue = ${this.maxQueue} records): a record (${kind}) was dropped`);
      this._lost(kind, 1, err);
      this._warnOnce('overflow', `${err.message}; is the collector reachable at ${this.url}?`);
      this._report(err);
      this._persistSoon();
      return false;
    }
    this.queue.push({ k: kind, r: record });
    this._persistSoon();
    if (this.queue.length >= this.batchSize && !this.inflight && !this._pump) {
      if (this._timer) { clearTimeout(this._timer); this._timer = null; }
      this._arm(0);
    } else if (!this._timer && !this._pump) this._arm(this.flushIntervalMs);
    return true;
  }

  /**
   * Sends everything queued now. Resolves with what happened since the previous flush():
   * { ok, sent, queued, dropped, droppedByKind, error }: ok = nothing left queued and nothing
   * dropped; queued > 0 = a send failed and a retry is scheduled; dropped = records lost (rejected
   * by the collector with a 4xx, or beyond maxQueue); error = the last DiscoError seen.
   */
  async flush() {
    await this._pumpNow();
    const r = this._since;
    this._since = Transport._emptyReport();
    const dropped = r.dropped.events + r.dropped.decisions + r.dropped.outcomes + r.dropped.activations;
    const queued = this.size;
    return { ok: queued === 0 && dropped === 0, sent: r.sent, queued, dropped, droppedByKind: r.dropped, error: r.error };
  }

  _pumpNow() {
    if (this._timer) { clearTimeout(this._timer); this._timer = null; }
    if (!this._pump) {
      this._pump = this._run().finally(() => { this._pump = null; });
    }
    return this._pump;
  }

  /** Capped exponential backoff with jitter: in [cap/2, cap], cap = min(max, base * 2^(attempt-1)). */
  backoffDelay(attempt) {
    return backoffDelay(attempt, this.backoffBaseMs, this.backoffMaxMs, this.random);
  }

  _arm(ms) {
    if (this._closed || this._timer) return;
    this._timer = setTimeout(() => { this._timer = null; this._pumpNow(); }, ms);
    if (typeof this._timer === 'object' && this._timer?.unref) this._timer.unref();
  }

  _hasDrops() { return this.dropped.dropped_events + this.dropped.dropped_decisions + this.dropped.dropped_outcomes > 0; }

  _makeBatch() {
    const take = this.queue.splice(0, this.batchSize);
    const b = {
      sender_id: this.senderId, seq: this.seq++, sent_at_ms: 0, ...this.dropped,
      pass_probability: this.passProbability, events: [], decisions: [], outcomes: [], activations: [],
    };
    for (const { k, r } of take) b[k].push(r);
    Object.defineProperty(b, '_n', { value: take.length, enumerable: false, writable: true });
    this.dropped = { dropped_events: 0, dropped_decisions: 0, dropped_outcomes: 0 };
    return b;
  }

  async _run() {
    for (;;) {
      if (this._closed) return false;
      if (!this.inflight) {
        if (!this.queue.length && !this._hasDrops()) return true;
        this.inflight = this._makeBatch();
        this._persist();
      }
      const result = await this._send(this.inflight);
      if (result === 'retry') {
        this.attempt++;
        this.stats.retries++;
        this._arm(this.backoffDelay(this.attempt) + (this._retryAfter ?? 0));
        this._retryAfter = 0;
        return false;
      }
      const b = this.inflight;
      if (result === 'sent') {
        this.stats.sentBatches++;
        this.stats.sentRecords += b._n;
        this._since.sent += b._n;
      } else {
        // permanently rejected (4xx): its records are lost; report them as dropped
        this.stats.rejectedBatches++;
        for (const k of KINDS) {
          this.dropped[DROP_FIELD[k]] += b[k].length;
          this._lost(k, b[k].length, result);
        }
        this.stats.dropped += b._n;
      }
      this.inflight = null;
      this.attempt = 0;
      this._persist();
    }
  }

  async _headers(body, ts) {
    const subtle = subtleOf(this.crypto);
    if (!this._hmac) {
      this._hmac = await subtle.importKey('raw', this.key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    }
    if (!this.keyId) this.keyId = toHex(new Uint8Array(await subtle.digest('SHA-256', this.key))).slice(0, 16);
    const sig = toHex(new Uint8Array(await subtle.sign('HMAC', this._hmac, utf8(`${ts}.${body}`))));
    return { 'x-disco-key': this.keyId, 'x-disco-timestamp': String(ts), 'x-disco-signature': sig };
  }

  async _send(batch) {
    const ts = this.now();
    batch.sent_at_ms = ts;
    const body = JSON.stringify(batch);
    let res;
    let timer;
    let bodyText = '';
    try {
      const headers = { 'content-type': 'application/json', ...(await this._headers(body, ts)) };
      const ac = typeof AbortController !== 'undefined' ? new AbortController() : null;
      if (ac) {
        timer = setTimeout(() => ac.abort(), this.timeoutMs);
        if (typeof timer === 'object' && timer?.unref) timer.unref();
      }
      res = await this.fetch(this.url, {
        method: 'POST', headers, body, keepalive: body.length < 60000, signal: ac?.signal,
      });
      // read the body (the connection can be reused; a refusal says why in it)
      try { bodyText = res.ok ? (await res.arrayBuffer(), '') : (await res.text()).slice(0, 300); } catch { /* ignore */ }
    } catch (e) {
      const err = new DiscoError('NETWORK', `collector unreachable at ${this.url} (${e.message}); retrying`, { cause: e });
      this._since.error = err;
      this._report(err);
      return 'retry';
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (res.ok) return 'sent';
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers?.get?.('retry-after'));
      if (ra > 0) this._retryAfter = Math.min(ra * 1000, this.backoffMaxMs);
      const err = new DiscoError('NETWORK', `collector answered HTTP ${res.status}; retrying`);
      this._since.error = err;
      this._report(err);
      return 'retry';
    }
    const hint = res.status === 404 ? ' (the collector takes batches at POST <collector>/v1/events: check collector.url)'
      : res.status === 401 ? this._hint ?? ' (check collector.key, the site secret, and collector.keyId: the collector\'s API key for the site, by default the first 16 hex chars of SHA-256(secret))' : '';
    const err = new DiscoError('REJECTED', `collector rejected batch ${batch.seq} (${batch._n} records, dropped) with HTTP ${res.status} at POST ${this.url}${bodyText ? `: ${bodyText}` : ''}${hint}`, { status: res.status });
    this._warnOnce('rejected', err.message);
    this._report(err);
    return err;
  }

  // the auth of a beacon, in its query string (it cannot set headers)
  _query(h, ts) { return `disco_key=${encodeURIComponent(h['x-disco-key'])}&disco_ts=${ts}&disco_sig=${h['x-disco-signature']}`; }

  /** Page hiding: hand everything to navigator.sendBeacon (auth in the query string, see README). */
  async flushBeacon() {
    if (!this.sendBeacon || this._closed) return false;
    let all = true;
    while (this.inflight || this.queue.length) {
      if (!this.inflight) this.inflight = this._makeBatch();
      const b = this.inflight;
      const ts = this.now();
      b.sent_at_ms = ts;
      const body = JSON.stringify(b);
      const h = await this._headers(body, ts);
      const sep = this.url.includes('?') ? '&' : '?';
      const url = this.url + sep + this._query(h, ts);
      let ok = false;
      try { ok = this.sendBeacon(url, new Blob([body], { type: 'text/plain;charset=UTF-8' })); } catch { ok = false; }
      if (!ok) { all = false; break; }
      this.stats.beacons++;
      this.stats.sentBatches++;
      this.stats.sentRecords += b._n;
      this._since.sent += b._n;
      this.inflight = null;
    }
    this._persist();
    return all;
  }

  _report(err) {
    if (this.onError) { try { this.onError(err); } catch { /* never let a hook break the queue */ } }
  }

  _persistSoon() {
    if (!this.storage || this._persistQueued) return;
    this._persistQueued = true;
    queueMicrotask(() => { this._persistQueued = false; this._persist(); });
  }

  _persist() {
    if (!this.storage) return;
    const state = {
      v: 1, senderId: this.senderId, seq: this.seq, dropped: this.dropped, queue: this.queue,
      inflight: this.inflight ? { b: this.inflight, n: this.inflight._n } : null,
    };
    try { this.storage.setItem(this.storageKey, JSON.stringify(state)); } catch (e) {
      this._report(new DiscoError('STORAGE', `cannot persist the offline queue (${e.message})`, { cause: e }));
    }
  }

  _load() {
    if (!this.storage) return;
    let s;
    try { s = JSON.parse(this.storage.getItem(this.storageKey) ?? 'null'); } catch { s = null; }
    if (!s || s.v !== 1) return;
    if (!this.senderId && typeof s.senderId === 'string') this.senderId = s.senderId;
    if (Number.isSafeInteger(s.seq)) this.seq = s.seq;
    if (s.dropped) for (const k of Object.keys(this.dropped)) this.dropped[k] = s.dropped[k] >>> 0;
    if (Array.isArray(s.queue)) this.queue = s.queue.filter((e) => e && KINDS.includes(e.k)).slice(0, this.maxQueue);
    if (s.inflight?.b) {
      this.inflight = s.inflight.b;
      Object.defineProperty(this.inflight, '_n', { value: s.inflight.n >>> 0, enumerable: false, writable: true });
    }
  }

  /** Stops timers and listeners; what is queued stays persisted (storage) for the next start. */
  close() {
    this._closed = true;
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    if (this._onHide) {
      globalThis.document?.removeEventListener?.('visibilitychange', this._onHide);
      globalThis.removeEventListener?.('pagehide', this._onHide);
    }
    this._persist();
  }
}

/**
 * A page's transport (Disco's `collector.writeKey`): the site's public write key instead of its
 * secret, sent as x-disco-write-key (beacons: disco_write_key=), nothing signed; a page has no secret
 * to sign with (collector/PROTOCOL.md, "Who may send what"). Not in the edge build.
 */
export class WriteKeyTransport extends Transport {
  constructor(o) {
    if (!o?.writeKey) throw new DiscoError('INVALID_ARGUMENT', 'collector.writeKey (the site\'s public write key) is required');
    super({ ...o, key: o.writeKey });
    this.writeKey = o.writeKey;
    this._hint = ' (check collector.writeKey: the site\'s write key)';
  }
  async _headers() { return { 'x-disco-write-key': this.writeKey }; }
  _query() { return `disco_write_key=${encodeURIComponent(this.writeKey)}`; }
}
