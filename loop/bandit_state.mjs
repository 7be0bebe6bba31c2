// Fleet bandit state: the collector's GET /v1/bandit-state JSON -> the runtime's bandit statistics
// bytes (disco_bandit_export's format, runtime/src/state.cpp: "DSBS"), and importing them into an
// edge's runtime (replace: the collector's statistics already include this edge's joined outcomes).
//
// Layout (little endian, cereal over memory_archive.h: sizes as u64): u32 magic 0x53425344,
// u32 state version 1, u32 n_arms, u32 dim, then BanditStats { u32 dim, u64 n_arms, per arm
// { u64 dim*dim, f64 A[] (row-major sum x x^T), u64 dim, f64 b[] (sum r x), f64 n, f64 reward_sum } }.
// The reward scale is the same on both sides (clamp(margin / price, +-4); collector/src/sqlite_store.cpp).
export const BANDIT_MAGIC = 0x53425344;
export const STATE_VERSION = 1;
const RUNTIME_MAGIC = 0x54525344;

function statsBody(state, nArms, dim) {
  const arms = Array.from({ length: nArms }, () => ({ A: new Float64Array(dim * dim), b: new Float64Array(dim), n: 0, reward_sum: 0 }));
  for (const a of state.arms ?? []) {
    if (a.dim !== dim) continue;  // statistics of another context layout (an older bundle): not this runtime's
    if (!Number.isInteger(a.arm) || a.arm < 0 || a.arm >= nArms) throw new Error(`bandit-state: arm ${a.arm} out of range (runtime has ${nArms})`);
    if (!Array.isArray(a.A) || a.A.length !== dim * dim || !Array.isArray(a.b) || a.b.length !== dim) {
      throw new Error(`bandit-state: arm ${a.arm}: A must have ${dim * dim} and b ${dim} numbers`);
    }
    const t = arms[a.arm];
    for (let i = 0; i < dim * dim; i++) t.A[i] += a.A[i];
    for (let i = 0; i < dim; i++) t.b[i] += a.b[i];
    t.n += a.n;
    t.reward_sum += a.reward_sum;
  }
  const size = 4 + 8 + nArms * (8 + 8 * dim * dim + 8 + 8 * dim + 16);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  dv.setUint32(p, dim, true); p += 4;
  dv.setBigUint64(p, BigInt(nArms), true); p += 8;
  for (const t of arms) {
    dv.setBigUint64(p, BigInt(dim * dim), true); p += 8;
    for (const x of t.A) { dv.setFloat64(p, x, true); p += 8; }
    dv.setBigUint64(p, BigInt(dim), true); p += 8;
    for (const x of t.b) { dv.setFloat64(p, x, true); p += 8; }
    dv.setFloat64(p, t.n, true); p += 8;
    dv.setFloat64(p, t.reward_sum, true); p += 8;
  }
  return out;
}

/** The collector's JSON as disco_bandit_export bytes (arms without data get zero statistics). */
export function encodeBanditStats(state, nArms, dim) {
  const body = statsBody(state, nArms, dim);
  const out = new Uint8Array(16 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, BANDIT_MAGIC, true);
  dv.setUint32(4, STATE_VERSION, true);
  dv.setUint32(8, nArms, true);
  dv.setUint32(12, dim, true);
  out.set(body, 16);
  return out;
}

// Skips one BanditStats in a runtime state; returns the offset after it.
function skipStats(dv, p) {
  p += 4;
  const n = Number(dv.getBigUint64(p, true)); p += 8;
  for (let a = 0; a < n; a++) {
    const la = Number(dv.getBigUint64(p, true)); p += 8 + 8 * la;
    const lb = Number(dv.getBigUint64(p, true)); p += 8 + 8 * lb + 16;
  }
  if (p > dv.byteLength) throw new Error('runtime state: bandit statistics run past the end');
  return p;
}

// Offsets of the bandit inside disco_runtime_save's bytes (runtime/src/state.cpp): the
// BanditConfig, the prior (warm start from the bundle) and the observed statistics.
function stateLayout(state) {
  const dv = new DataView(state.buffer, state.byteOffset, state.byteLength);
  // runtime state formats 1 to 3 (2 adds held outcomes to the pending table, 3 the budget's dual
  // price after the guardrails: both after the bandit) share this prefix
  if (dv.getUint32(0, true) !== RUNTIME_MAGIC || ![1, 2, 3].includes(dv.getUint32(4, true))) {
    throw new Error('runtime state: unexpected magic/version (cannot read the bandit in this disco.wasm\'s state)');
  }
  let p = 8 + 8;                                   // magic, version, bundle checksum
  p += 8 + Number(dv.getBigUint64(p, true));       // model_version string
  p += 8;                                          // sessions_created
  const cfg = p;
  p += 1 + 4 + 4 + 5 * 8 + 4;                      // BanditConfig
  const dataStart = skipStats(dv, p);              // after the prior (warm start)
  const dataEnd = skipStats(dv, dataStart);        // after the observed statistics
  return { dv, cfg, nArms: dv.getUint32(cfg + 1, true), dataStart, dataEnd };
}

/**
 * The runtime's bandit configuration and prior as bytes (BanditConfig + the warm-start statistics
 * from its bundle), for telling whether a hot swap installed the new bundle's prior and noise scale.
 */
export function banditConfigAndPrior(runtime) {
  const state = runtime.save();
  const { cfg, dataStart } = stateLayout(state);
  return state.slice(cfg, dataStart);
}

/**
 * Replaces the runtime's observed bandit statistics with the fleet's; the prior (the bundle's warm
 * start) and the configuration (noise scale) are the runtime's and stay. Uses
 * RuntimeRef.banditImport (disco_bandit_import) when disco.wasm exports it; otherwise (older
 * builds) rewrites the bandit's observed statistics inside disco_runtime_save's bytes and restores
 * them (both are the runtime's own, versioned formats). Returns how it was done.
 */
export function importFleetStats(engine, runtime, bytes) {
  if (typeof runtime.banditImport === 'function' && typeof engine.x.disco_bandit_import === 'function') {
    runtime.banditImport(bytes, false);
    return 'RuntimeRef.banditImport (disco_bandit_import)';
  }
  const state = runtime.save();
  const { nArms, dataStart, dataEnd } = stateLayout(state);
  const body = bytes.subarray(16);
  if (new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true) !== nArms) throw new Error('fleet statistics: arm count differs from the runtime');
  const out = new Uint8Array(dataStart + body.length + (state.length - dataEnd));
  out.set(state.subarray(0, dataStart), 0);
  out.set(body, dataStart);
  out.set(state.subarray(dataEnd), dataStart + body.length);
  runtime.restore(out);
  return 'runtime save/restore (disco_bandit_import not exported by this disco.wasm)';
}
