#!/usr/bin/env node
// Mutation fuzzer for the JS SDK's own parsers of untrusted bytes (no dependency: a small
// libFuzzer-like mutation loop over the committed corpora, no coverage feedback):
//   js_bundle  sdk-js/src/bundle.js: readBundleHeader, readModelSummary, verifyBundle (seeds:
//              tests/fuzz/corpus/bundle, flag byte dropped; signed_p256.disco verifies with KEY_PEM)
//   js_token   sdk-js/src/token.js: verifyOfferToken on mutated tokens and on mutated claims signed
//              here (so mutations reach the claims checks), openCookie on mutated
//              session cookies (AES-256-GCM, the edge's sealing)
//              (seeds: tests/fuzz/corpus/offer_token, the secret of tests/checkout/sdk_tokens.json)
//   js_state   sdk-js/src/index.js: Disco.restore (parseState: the saved state's header, lengths and
//              metadata JSON, then the constructor's use of the metadata and the wasm runtime and
//              session restores) over sdk-js/dist/disco-simd.wasm and
//              tests/runtime/fixtures/bundle_schema1.0.disco; an accepted state must save again.
//              (seeds: tests/fuzz/corpus/js_state, states saved by Disco.saveState: --make-seeds)
// Allowed outcome: a result, or a DiscoError with one of the target's codes and a message. A
// finding is anything else: another exception type or code, a BUNDLE_FORMAT error that is only
// the reader's catch-all around an internal exception ("is corrupt or truncated (...)"), an input
// that runs over --hang-ms (infinite loop) or an out-of-memory. Each finding's input is written to
// --artifacts as js_<target>-<kind>-<hash> and the process exits 1.
//
//   node tests/fuzz/fuzz_sdk.mjs --target js_bundle|js_token|js_state [--runs N] [--seed S]
//        [--corpus tests/fuzz/corpus] [--artifacts DIR] [--hang-ms 10000]
//   node tests/fuzz/fuzz_sdk.mjs --target js_bundle --repro FILE   (one input, prints the outcome)
//   node tests/fuzz/fuzz_sdk.mjs --target js_state --make-seeds DIR  (writes the js_state seeds)
import { createHash, createHmac, webcrypto } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseCli } from '../../lib/cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const sdk = resolve(here, '../../sdk-js/src');

// The public key of tests/fuzz/corpus/bundle/signed_p256.disco (its private key was thrown away;
// also runtime/fuzz/fuzz_bundle.cpp's kSpki).
const KEY_PEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEcyO0z4kKNraUsfO4cz0xbouYE6ev
8iTGQwRWeMgmjfTkNpqdb9EJuGVMiW3z1AsfrWlndMGkS06W7yckclUqnA==
-----END PUBLIC KEY-----`;
const SECRET = 'checkout-test-secret-0123456789';
const NOW = 1800000000000;

const USAGE = 'usage: node tests/fuzz/fuzz_sdk.mjs --target js_bundle|js_token|js_state [--runs N] [--seed N] [--corpus DIR] [--artifacts DIR] [--hang-ms MS] [--repro FILE] [--make-seeds DIR]';
const TARGETS = ['js_bundle', 'js_token', 'js_state'];
function parseArgs() {
  const v = parseCli({ name: 'fuzz_sdk.mjs', usage: USAGE, options: { target: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' },
    corpus: { type: 'string' }, artifacts: { type: 'string' }, 'hang-ms': { type: 'string' }, repro: { type: 'string' }, 'make-seeds': { type: 'string' } } }).values;
  const o = { target: v.target ?? '', runs: Number(v.runs ?? 1000000), seed: Number(v.seed ?? 1), corpus: resolve(v.corpus ?? resolve(here, 'corpus')),
    artifacts: resolve(v.artifacts ?? resolve(here, '../../build/fuzz/fuzz-work/artifacts')), hangMs: Number(v['hang-ms'] ?? 10000), repro: v.repro ? resolve(v.repro) : '',
    makeSeeds: v['make-seeds'] ? resolve(v['make-seeds']) : '' };
  if (!TARGETS.includes(o.target)) throw new Error(`fuzz_sdk.mjs: --target ${TARGETS.join(', ')}`);
  if (o.makeSeeds && o.target !== 'js_state') throw new Error('fuzz_sdk.mjs: --make-seeds is for --target js_state');
  if (!(o.runs >= 0)) throw new Error('fuzz_sdk.mjs: --runs must be a number');
  return o;
}

// Worker output goes through the parent (a worker's console is flushed asynchronously, after exit).
const out = (line) => (isMainThread ? console.log(line) : parentPort.postMessage({ log: `${line}` }));
const hash = (b) => createHash('sha1').update(b).digest('hex');
const b64url = (b) => Buffer.from(b).toString('base64url');

// ---- worker: the fuzz loop -------------------------------------------------------------------

async function fuzz({ o, shared }) {
  const { readBundleHeader, readModelSummary, verifyBundle } = await import(join(sdk, 'bundle.js'));
  const { verifyOfferToken, openCookie, sealCookie, derivedKey } = await import(join(sdk, 'token.js'));
  const { DiscoError } = await import(join(sdk, 'errors.js'));
  const progress = new Int32Array(shared, 0, 2); // [runs done, current input length]
  const current = new Uint8Array(shared, 8);

  let s = o.seed >>> 0 || 1; // xorshift32
  const rnd = (n) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
  // Dictionary words (JSON syntax and numbers at the edges of double, int64 and Date ranges).
  const DICT = ['-', 'e', 'e+308', 'e-400', '1e400', '-1e20', '-9e15', '9007199254740993', '"', '\\', '\\u0000', '\\ud800',
    '{', '}', '[', ']', ',', ':', 'null', 'true', '.', '0', '"e":', '"x":', '"d":'].map((w) => new TextEncoder().encode(w));
  const INTERESTING = [0, 1, 2, 4, 8, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

  function mutate(src, pool) {
    let b = Uint8Array.from(src);
    for (let k = 1 + rnd(4); k > 0; k--) {
      const n = b.length;
      const at = n ? rnd(n) : 0;
      switch (rnd(11)) {
        case 0: if (n) b[at] ^= 1 << rnd(8); break;
        case 1: if (n) b[at] = rnd(256); break;
        case 2: if (n) b[at] = INTERESTING[rnd(8)]; break;
        case 3: { // a little-endian word (offsets, lengths) with an extreme or nearby value
          const w = rnd(3) ? INTERESTING[rnd(INTERESTING.length)] : (rnd(3) ? n + rnd(9) - 4 : rnd(65536));
          const p = rnd(2) ? at & ~3 : at;
          for (let i = 0; i < 4 && p + i < n; i++) b[p + i] = (w >>> (8 * i)) & 0xff;
          break;
        }
        case 4: { const m = 1 + rnd(8); const ins = Uint8Array.from({ length: m }, () => rnd(256)); b = concat(b.subarray(0, at), ins, b.subarray(at)); break; }
        case 5: if (n) { const m = 1 + rnd(Math.min(n - at, 64)); b = concat(b.subarray(0, at), b.subarray(at + m)); } break;
        case 6: if (n) b = b.slice(0, at); break;
        case 7: if (n) { const m = 1 + rnd(Math.min(n - at, 32)); b = concat(b.subarray(0, at + m), b.subarray(at, at + m), b.subarray(at + m)); } break;
        case 8: { // splice: a chunk of another input
          const other = pool[rnd(pool.length)];
          if (other.length) { const from = rnd(other.length); const m = 1 + rnd(Math.min(other.length - from, 256)); b = concat(b.subarray(0, at), other.subarray(from, from + m), b.subarray(at)); }
          break;
        }
        case 9: { const w = DICT[rnd(DICT.length)]; b = rnd(2) ? concat(b.subarray(0, at), w, b.subarray(at)) : concat(b.subarray(0, at), w, b.subarray(at + w.length)); break; }
        default: if (n > 1) { const p = rnd(n); const q = rnd(n); b.copyWithin(p, q, q + 1 + rnd(16)); }
      }
      if (b.length > 65536) b = b.slice(0, 65536);
    }
    return b;
  }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }

  const files = (name) => readdirSync(join(o.corpus, name)).sort().map((f) => new Uint8Array(readFileSync(join(o.corpus, name, f))));
  const subtle = webcrypto.subtle;
  const key = await subtle.importKey('spki', Buffer.from(KEY_PEM.split('\n').slice(1, -1).join(''), 'base64'), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const secretBytes = new TextEncoder().encode(SECRET);
  let cookieKey = null;

  // One call of the code under test on `input`; returns null, or why it is a finding.
  let run;
  let seeds;
  const allowed = (codes) => (e) => {
    if (!(e instanceof DiscoError)) return `unexpected exception type ${e?.constructor?.name}: ${e?.message ?? e}`;
    if (!codes.includes(e.code)) return `unexpected DiscoError code ${e.code}: ${e.message}`;
    if (!e.message) return `DiscoError ${e.code} without a message`;
    if (e.code === 'BUNDLE_FORMAT' && /is corrupt or truncated \(/.test(e.message)) return `internal exception behind the catch-all: ${e.message}`;
    return null;
  };
  if (o.target === 'js_bundle') {
    seeds = files('bundle').filter((b) => b.length > 1).map((b) => b.subarray(1));
    const check = allowed(['BUNDLE_FORMAT', 'VERSION', 'SIGNATURE', 'UNSIGNED']);
    let verified = 0, read = 0;
    run = async (input, i) => {
      let h;
      try {
        h = readBundleHeader(input);
        const m = readModelSummary(h.payload);
        read++;
        if (typeof m.modelVersion !== 'string' || !Array.isArray(m.arms)) return 'readModelSummary returned a malformed summary';
      } catch (e) { return check(e); }
      if (h.signatureAlgo !== 0 || (h.signature && h.signature.length)) {
        try {
          // Mostly the imported key; every 8th run the PEM text (spkiFrom + key id check).
          await verifyBundle(input, i % 8 ? key : KEY_PEM, { crypto: webcrypto });
          verified++;
        } catch (e) { return check(e); }
      }
      return null;
    };
    run.stats = () => `bundles read: ${read}, signatures verified: ${verified}`;
    run.valid = (b) => { try { readModelSummary(readBundleHeader(b).payload); return true; } catch { return false; } };
  } else if (o.target === 'js_state') {
    const { Disco } = await import(join(sdk, 'index.js'));
    const { Engine } = await import(join(sdk, 'engine.js'));
    const wasmPath = resolve(sdk, '../dist/disco-simd.wasm');
    let wasm;
    try { wasm = new Uint8Array(readFileSync(wasmPath)); } catch {
      throw new Error(`js_state needs ${wasmPath}: build it with bash wasm/build.sh (scripts/setup.sh does)`);
    }
    const engine = await Engine.load(wasm);
    const bundle = new Uint8Array(readFileSync(resolve(here, '../runtime/fixtures/bundle_schema1.0.disco')));
    const open = (extra) => ({ engine, bundle, unsafeSkipVerify: true, now: () => NOW, ...extra });
    if (o.makeSeeds) {
      // States as Disco.saveState writes them: fresh, after events, each mode, with a user id.
      mkdirSync(o.makeSeeds, { recursive: true });
      const kinds = [
        { name: 'fresh', opts: { seed: 1, userKey: 7 }, events: 0 },
        { name: 'events', opts: { seed: 2, userKey: 8 }, events: 6 },
        { name: 'logging', opts: { seed: 3, userKey: 9, mode: 'logging' }, events: 3 },
        { name: 'apprentice', opts: { seed: 5, userKey: 10, mode: 'apprentice' }, events: 1 },
        { name: 'userid', opts: { seed: 4, userId: 'shopper-42', userKeySalt: 'fuzz-salt-0123456789', crypto: webcrypto }, events: 2 },
      ];
      for (const k of kinds) {
        const d = await Disco.create(open(k.opts));
        const items = d.recommend({ k: 8 }).map((r) => r.itemId);
        for (let i = 0; i < k.events; i++) d.track({ type: [0, 1, 0, 2][i % 4], itemId: items[i % items.length], ts: NOW + i * 1000 });
        writeFileSync(join(o.makeSeeds, `saved_${k.name}.bin`), d.saveState());
        d.close();
      }
      out(`wrote ${kinds.length} seeds to ${o.makeSeeds}`);
      return 0;
    }
    seeds = files('js_state');
    if (!seeds.length) throw new Error('js_state: no seeds in the corpus (node tests/fuzz/fuzz_sdk.mjs --target js_state --make-seeds tests/fuzz/corpus/js_state)');
    const check = allowed(['STATE', 'INVALID_ARGUMENT', 'VERSION', 'SHAPE', 'UNSUPPORTED', 'BUNDLE_FORMAT', 'CHECKSUM', 'UNKNOWN_ITEM', 'BUFFER_TOO_SMALL', 'NOT_FOUND']);
    let restored = 0;
    // Structure-aware variants (picked by the input's length, so a repro file replays the same):
    // one in 3 gets its section lengths fixed to the bytes it has (inserts and erases then reach
    // the runtime, session and metadata readers instead of the framing check); one in 5 of those
    // has one metadata field re-written with a value from the edges of the JSON value ranges.
    const RAW = ['-1', '0', '1e400', '"x"', '""', 'null', 'true', '[]', '{}', '"18446744073709551616"', '"-1"', '"1e3"',
      '"0x10"', '" 1"', '"online"', '"__proto__"', '"constructor"', '"toString"', '1.5', '"9007199254740993"'];
    const reframe = (b) => {
      if (b.length < 20) return b;
      const out = Uint8Array.from(b);
      const dv = new DataView(out.buffer);
      const rest = b.length - 20;
      const a = Math.min(dv.getUint32(8, true), rest), s = Math.min(dv.getUint32(12, true), rest - a);
      dv.setUint32(8, a, true); dv.setUint32(12, s, true); dv.setUint32(16, rest - a - s, true);
      if (b.length % 5 !== 1) return out;
      let meta;
      try { meta = JSON.parse(Buffer.from(out.subarray(20 + a + s)).toString('utf8')); } catch { return out; }
      if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return out;
      const h = createHash('sha1').update(b).digest();
      const k = ['seed', 'userKey', 'mode', 'userId', 'modelVersion'][h[0] % 5];
      const text = `{${Object.keys({ ...meta, [k]: 0 }).map((key) => `${JSON.stringify(key)}:${key === k ? RAW[h[1] % RAW.length] : JSON.stringify(meta[key])}`).join(',')}}`;
      const m = new TextEncoder().encode(text);
      const r = concat(out.subarray(0, 20 + a + s), m);
      new DataView(r.buffer).setUint32(16, m.length, true);
      return r;
    };
    run = async (input) => {
      let d;
      const state = input.length % 3 === 0 ? reframe(input) : input;
      try { d = await Disco.restore(open({ state })); } catch (e) { return check(e); }
      restored++;
      try {
        const again = d.saveState();
        if (!(again instanceof Uint8Array) || again.length < 20) return 'saveState after restore returned no state';
        d.recommend({ k: 3 });
      } catch (e) {
        const why = check(e);
        if (why) return `after an accepted restore: ${why}`;
      } finally {
        try { d.close(); } catch (e) { return `close threw: ${e?.message}`; }
      }
      return null;
    };
    run.stats = () => `states restored: ${restored}`;
    run.valid = async (b) => { try { (await Disco.restore(open({ state: b }))).close(); return true; } catch { return false; } };
  } else {
    // Seeds: tokens (selector 0, and those inside checkout bodies), claims (selector 1), a sealed value.
    const raw = files('offer_token');
    const tokens = [], claims = [];
    for (const b of raw) {
      const text = Buffer.from(b.subarray(1)).toString('latin1');
      if (b[0] % 3 === 1) claims.push(b.subarray(1));
      else for (const t of text.match(/v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g) ?? []) tokens.push(new TextEncoder().encode(t));
    }
    // the edge's cookie key (sdk-js/src/edge.js: HKDF of the token secret, info 'disco/cookie')
    cookieKey = await derivedKey(secretBytes, 'disco/cookie', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt'], webcrypto);
    const sealed = new TextEncoder().encode(await sealCookie(files('session_state').at(-1), cookieKey, NOW, webcrypto));
    seeds = [...tokens.map((t) => concat([0], t)), ...claims.map((c) => concat([1], c)), concat([2], sealed)];
    // (cart tokens: TOKEN_SCOPE without a cart or an item token with one, and the cart's checks)
    const check = allowed(['TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_SCOPE', 'TOKEN_CART_MISMATCH', 'TOKEN_MIN_SPEND']);
    // Structure-aware variant of claims (a third of the selector-1 inputs): byte mutations mostly
    // break the JSON, so here the claims are re-written with one value (raw JSON text, so 1e400 and
    // -0 survive) taken from the edges of the number, string and type ranges, picked by the input.
    const RAW = ['-1e20', '1e400', '-1e400', '0', '-0', '1e-400', '9007199254740993', '8.64e15', '-8.64e15', '8.7e15',
      '1.7976931348623157e308', '-1', '2', 'null', 'true', '[]', '{}', '""', '"\\ud800"', '"0123456789abcdef0123456789abcdeF"'];
    const claimsVariant = (bytes) => {
      let c;
      try { c = JSON.parse(Buffer.from(bytes).toString('utf8')); } catch { return bytes; }
      if (!c || typeof c !== 'object' || Array.isArray(c)) return bytes;
      const keys = ['d', 'i', 'x', 'a', 'e'];
      const h = createHash('sha1').update(bytes).digest();
      const k = keys[h[0] % keys.length];
      const parts = Object.keys({ ...c, [k]: 0 }).map((key) => `${JSON.stringify(key)}:${key === k ? RAW[h[1] % RAW.length] : JSON.stringify(c[key])}`);
      return new TextEncoder().encode(`{${parts.join(',')}}`);
    };
    let ok = 0;
    run = async (input) => {
      if (!input.length) return null;
      let rest = input.subarray(1);
      const mode = input[0] % 3;
      if (mode === 2) {
        try {
          const v = await openCookie(Buffer.from(rest).toString('latin1'), cookieKey, NOW, 86400, webcrypto);
          if (v !== null && !(v instanceof Uint8Array)) return 'openCookie returned neither bytes nor null';
        } catch (e) { return `openCookie threw (it returns null for bad values): ${e?.constructor?.name}: ${e?.message}`; }
        return null;
      }
      let token;
      if (mode === 1 && rest.length && input.length % 3 === 0) rest = claimsVariant(rest);
      if (mode === 0) token = Buffer.from(rest).toString(input.length % 2 ? 'latin1' : 'utf8');
      else {
        const part = `v1.${b64url(rest)}`;
        token = `${part}.${createHmac('sha256', SECRET).update(part).digest('base64url')}`;
      }
      try {
        // one input in 4 is verified as a cart's (an order of i42 x 2 worth 20)
        const order = input.length % 4 ? {} : { cart: [{ itemId: 'i42', quantity: 2 }], total: 20 };
        const r = await verifyOfferToken(token, secretBytes, { now: NOW, crypto: webcrypto, ...order });
        if (typeof r.decisionId !== 'string' || typeof r.discount !== 'number' ||
          (r.scope === 'cart' ? typeof r.amount !== 'number' || typeof r.minSpend !== 'number' || !order.cart : typeof r.itemId !== 'string')) return 'verifyOfferToken returned malformed claims';
        ok++;
      } catch (e) {
        const why = check(e);
        if (why) return why;
        if (mode === 1 && /signature/.test(e.message)) return `a token signed here did not verify: ${e.message}`;
      }
      return null;
    };
    run.stats = () => `tokens accepted: ${ok}`;
  }

  if (o.repro) {
    const why = await run(new Uint8Array(readFileSync(o.repro)), 0);
    out(why ? `FINDING: ${why}` : 'no finding');
    return why ? 1 : 0;
  }
  const pool = seeds.slice(); // seeds plus inputs that parsed (bounded), as bases for mutation
  // Half the bases are seeds the code accepts whole (most corpus entries are small inputs libFuzzer
  // kept for coverage, which the JS reader refuses at once).
  const good = [];
  for (const b of seeds) if (!((await run.valid?.(b)) === false)) good.push(b);
  let findings = 0;
  const t0 = Date.now();
  for (let i = 0; i < o.runs; i++) {
    const base = i < seeds.length ? null : (good.length && rnd(2) ? good[rnd(good.length)] : pool[rnd(pool.length)]);
    const input = base ? mutate(base, pool) : seeds[i];
    current.set(input.subarray(0, current.length));
    Atomics.store(progress, 1, input.length);
    const why = await run(input, i);
    Atomics.store(progress, 0, i + 1);
    if (why) {
      findings++;
      const name = join(o.artifacts, `${o.target}-crash-${hash(input)}`);
      writeFileSync(name, input);
      out(`FINDING after ${i + 1} runs: ${why}\n  input: ${name}`);
      if (findings >= 10) break;
    } else if (pool.length < 512 && rnd(64) === 0) {
      pool.push(input);
    }
    if ((i + 1) % 200000 === 0) out(`#${i + 1} ${Math.round((i + 1) / ((Date.now() - t0) / 1000))} exec/s ${run.stats()}`);
  }
  const done = Atomics.load(progress, 0);
  out(`${run.stats()}`);
  out(`Done ${done} runs in ${Math.round((Date.now() - t0) / 1000)} second(s)`);
  out(`Findings: ${findings}`);
  return findings ? 1 : 0;
}

// ---- main thread: runs the loop in a worker and watches it (hangs, out of memory) -------------

if (!isMainThread) {
  fuzz(workerData).then((rc) => parentPort.postMessage({ rc }), (e) => parentPort.postMessage({ error: `${e?.stack ?? e}` }));
} else {
  const o = parseArgs();
  mkdirSync(o.artifacts, { recursive: true });
  const shared = new SharedArrayBuffer(8 + 65536);
  const progress = new Int32Array(shared, 0, 2);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { o, shared }, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
  const finding = (kind, why) => {
    const input = new Uint8Array(shared, 8, Math.min(Atomics.load(progress, 1), 65536)).slice();
    const name = join(o.artifacts, `${o.target}-${kind}-${hash(input)}`);
    writeFileSync(name, input);
    console.log(`FINDING after ${Atomics.load(progress, 0)} runs: ${why}\n  input: ${name}`);
    console.log(`Done ${Atomics.load(progress, 0)} runs`);
    console.log('Findings: 1');
    process.exit(1);
  };
  let last = -1, since = Date.now();
  const watch = setInterval(() => {
    const n = Atomics.load(progress, 0);
    if (n !== last) { last = n; since = Date.now(); return; }
    if (Date.now() - since > o.hangMs) { worker.terminate(); finding('timeout', `one input ran over ${o.hangMs} ms (a hang)`); }
  }, 250);
  worker.on('message', (m) => {
    if (m.log !== undefined) { console.log(m.log); return; }
    clearInterval(watch);
    if (m.error) { console.log(`fuzz_sdk.mjs failed: ${m.error}`); process.exit(2); }
    process.exit(m.rc);
  });
  worker.on('error', (e) => {
    clearInterval(watch);
    if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') finding('oom', `out of memory (${e.message})`);
    else finding('crash', `the worker died: ${e?.stack ?? e}`);
  });
}
