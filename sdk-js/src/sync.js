// Fleet sync: pulls the collector's fleet bandit statistics (GET /v1/bandit-state, FlatBuffers,
// passed unchanged to the runtime's disco_bandit_import: no JavaScript parser of that layout) and
// its current bundle (GET /v1/bundle), each with ETag / If-None-Match, so an unchanged pull costs
// two 304s. A new bundle is verified (signature) before anything uses it, then hot-swapped keeping
// sessions. Failures back off (capped exponential with jitter, the transport's rule) and go to
// onError; a pull never blocks a decision (network and signature checks are async; the import
// and the swap are single synchronous calls between decisions). Used by Disco (own timer) and by
// createEdgeHandler (a pull started from a request through ctx.waitUntil when one is due).
import { DiscoError } from './errors.js';
import { backoffDelay, subtleOf, toHex, utf8 } from './util.js';

export const STATS_TYPE = 'application/x-disco-bandit-stats';

/** The collector's base URL: sync.url, else collector.url without its /v1/events path. */
export function syncBase(sync, collector) {
  let url = sync.url ?? collector?.url;
  if (typeof url !== 'string' || !url) {
    throw new DiscoError('INVALID_ARGUMENT', 'sync.url is required (the collector\'s base URL, e.g. http://127.0.0.1:8787), or give collector.url');
  }
  url = url.replace(/\/v1\/events\/?$/, '').replace(/\/+$/, '');
  return url;
}

export async function sha256Hex(bytes, cryptoImpl) {
  return toHex(new Uint8Array(await subtleOf(cryptoImpl).digest('SHA-256', bytes)));
}

export class FleetSync {
  /**
   * @param {object} o sync options ({ url, everyMs, bundle, stats, keyId, onSync, onError, ... })
   * @param {object} target { dim(): number, importStats(bytes), bundleBytes(): Uint8Array, swapBundle(bytes): Promise }
   */
  constructor(o, target, { collector, crypto: cryptoImpl, fetch: fetchImpl, now, random } = {}) {
    if (!o || typeof o !== 'object') throw new DiscoError('INVALID_ARGUMENT', 'sync must be { url, everyMs }');
    this.base = syncBase(o, collector);
    this.everyMs = o.everyMs ?? 60_000;
    if (!(Number.isFinite(this.everyMs) && this.everyMs >= 100)) {
      throw new DiscoError('INVALID_ARGUMENT', `sync.everyMs must be a number of milliseconds >= 100, got ${JSON.stringify(o.everyMs)}`);
    }
    this.pullStats = o.stats !== false;
    this.pullBundle = o.bundle !== false;
    this.backoffBaseMs = o.backoffBaseMs ?? 1000;
    this.backoffMaxMs = o.backoffMaxMs ?? 5 * 60_000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.keyId = o.keyId ?? collector?.keyId;
    this.key = collector?.key;
    if (!this.keyId && (this.key === undefined || this.key === null || this.key === '')) {
      throw new DiscoError('INVALID_ARGUMENT', 'sync needs the site\'s API key: give sync.keyId, or collector.key (the site secret; the key id is the first 16 hex chars of its SHA-256)');
    }
    this.onSync = o.onSync ?? null;
    this.onError = o.onError ?? null;
    this.crypto = cryptoImpl;
    this.fetch = o.fetch ?? fetchImpl ?? globalThis.fetch?.bind(globalThis);
    if (!this.fetch) throw new DiscoError('UNSUPPORTED', 'fetch is not available: pass sync.fetch');
    this.now = now ?? Date.now;
    this.random = random ?? Math.random;
    this.target = target;
    this.statsEtag = null;
    this.bundleEtag = null;
    this.attempt = 0;
    this.nextAt = 0; // due now
    this.inflight = null;
    this.timer = null;
    this.stopped = false;
    this.stats = { pulls: 0, failures: 0, statsImports: 0, bundleSwaps: 0, bytes: 0, lastVersion: null };
  }

  async _keyId() {
    if (!this.keyId) {
      const k = typeof this.key === 'string' ? utf8(this.key) : this.key;
      this.keyId = (await sha256Hex(k, this.crypto)).slice(0, 16);
    }
    return this.keyId;
  }

  due() { return !this.stopped && !this.inflight && this.now() >= this.nextAt; }

  async _get(path, headers) {
    const ac = typeof AbortController !== 'undefined' ? new AbortController() : null;
    let timer;
    if (ac) {
      timer = setTimeout(() => ac.abort(), this.timeoutMs);
      if (typeof timer === 'object' && timer?.unref) timer.unref();
    }
    try {
      return await this.fetch(`${this.base}${path}`, { headers: { 'x-disco-key': await this._keyId(), ...headers }, signal: ac?.signal });
    } catch (e) {
      throw new DiscoError('NETWORK', `sync: GET ${this.base}${path} failed (${e.message})`, { cause: e });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async _failed(res, path) {
    let body = '';
    try { body = (await res.text()).slice(0, 300); } catch { /* ignore */ }
    const code = res.status === 408 || res.status === 429 || res.status >= 500 ? 'NETWORK' : 'REJECTED';
    const hint = res.status === 401 ? ' (check sync.keyId / collector.key: the site\'s API key)' : '';
    return new DiscoError(code, `sync: GET ${this.base}${path} answered HTTP ${res.status}${body ? `: ${body}` : ''}${hint}`, { status: res.status });
  }

  /** One pull now (or the one in flight): resolves with what changed; rejects with a DiscoError. */
  pull() {
    if (!this.inflight) {
      this.inflight = this._pull().finally(() => { this.inflight = null; });
    }
    return this.inflight;
  }

  async _pull() {
    const t0 = this.now();
    const r = { bundle: 'unchanged', stats: 'unchanged', version: this.stats.lastVersion, bytes: 0, ms: 0 };
    this.stats.pulls++;
    try {
      if (this.pullBundle) {
        if (this.bundleEtag === null) this.bundleEtag = `"${(await sha256Hex(this.target.bundleBytes(), this.crypto)).slice(0, 32)}"`;
        const res = await this._get('/v1/bundle', { 'if-none-match': this.bundleEtag });
        if (res.status === 200) {
          const bytes = new Uint8Array(await res.arrayBuffer());
          r.bytes += bytes.length;
          const etag = res.headers.get('etag') ?? `"${(await sha256Hex(bytes, this.crypto)).slice(0, 32)}"`;
          if (etag !== this.bundleEtag) {
            await this.target.swapBundle(bytes); // verifies the signature before anything uses it
            this.statsEtag = null; // the statistics follow the new bundle's arms / context length
            this.stats.bundleSwaps++;
            r.bundle = 'swapped';
          }
          this.bundleEtag = etag;
        } else if (res.status === 404) {
          await res.arrayBuffer().catch(() => {});
          r.bundle = 'none';
        } else if (res.status !== 304) {
          throw await this._failed(res, '/v1/bundle');
        } else {
          await res.arrayBuffer().catch(() => {});
        }
      } else r.bundle = 'off';
      if (this.pullStats) {
        const dim = this.target.dim();
        const path = `/v1/bandit-state${dim > 0 ? `?dim=${dim}` : ''}`;
        const h = { accept: STATS_TYPE };
        if (this.statsEtag) h['if-none-match'] = this.statsEtag;
        const res = await this._get(path, h);
        if (res.status === 200) {
          const type = res.headers.get('content-type') ?? '';
          if (!type.startsWith(STATS_TYPE)) {
            throw new DiscoError('REJECTED', `sync: GET ${this.base}${path} answered ${type || 'no content type'}, not ${STATS_TYPE}: is this a disco collector new enough to serve FlatBuffers statistics?`);
          }
          const bytes = new Uint8Array(await res.arrayBuffer());
          r.bytes += bytes.length;
          this.target.importStats(bytes); // disco_bandit_import: replaces the observed statistics
          this.statsEtag = res.headers.get('etag');
          const m = /^"v(\d+)"$/.exec(this.statsEtag ?? '');
          r.version = this.stats.lastVersion = m ? Number(m[1]) : null;
          this.stats.statsImports++;
          r.stats = 'imported';
        } else if (res.status !== 304) {
          throw await this._failed(res, path);
        } else {
          await res.arrayBuffer().catch(() => {});
        }
      } else r.stats = 'off';
    } catch (e) {
      this.stats.failures++;
      this.attempt++;
      this.nextAt = this.now() + backoffDelay(this.attempt, this.backoffBaseMs, this.backoffMaxMs, this.random);
      const err = e instanceof DiscoError ? e : new DiscoError('INTERNAL', `sync: ${e.message}`, { cause: e });
      err.retryInMs = this.nextAt - this.now();
      throw err;
    }
    this.attempt = 0;
    this.nextAt = this.now() + this.everyMs;
    this.stats.bytes += r.bytes;
    r.ms = this.now() - t0;
    if (this.onSync) { try { this.onSync(r); } catch { /* a hook never breaks sync */ } }
    return r;
  }

  /** Background pulls (Disco): the first one now, then every everyMs, backing off after failures. */
  start() {
    if (this.timer || this.stopped) return;
    const tick = async () => {
      this.timer = null;
      if (this.stopped) return;
      try { await this.pull(); } catch (e) { this._report(e); }
      if (!this.stopped) this._arm(Math.max(0, this.nextAt - this.now()));
    };
    this._tick = tick;
    this._arm(0);
  }

  _arm(ms) {
    this.timer = setTimeout(this._tick, ms);
    if (typeof this.timer === 'object' && this.timer?.unref) this.timer.unref();
  }

  /** Edge: starts a pull when one is due; returns its promise (for ctx.waitUntil) or null. */
  maybePull() {
    if (!this.due()) return null;
    return this.pull().catch((e) => { this._report(e); });
  }

  _report(e) {
    if (this.onError) { try { this.onError(e); } catch { /* ignore */ } } else if (!this._warned && typeof console !== 'undefined') {
      this._warned = true;
      console.warn(`@disco/sdk: ${e.message}; retrying with backoff (logged once; pass sync.onError to handle it)`);
    }
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
