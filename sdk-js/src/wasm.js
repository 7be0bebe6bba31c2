// Instantiates disco.wasm without Emscripten's JS glue: the same code runs in browsers, Node >= 18
// and edge workers (no filesystem, no fetch of files needed when bytes or a Module are given).
import { DiscoError } from './errors.js';
import { typeName } from './util.js';

// Validates iff the engine has every feature disco-simd.wasm is built with (wasm/CMakeLists.txt:
// SIMD128, bulk memory, non-trapping float-to-int, sign extension; tests/sdk/wasm_probe.test.mjs):
// (module (memory 1) (func (result v128) (memory.copy (i32.const 0) (i32.const 0) (i32.const 0))
//   (i8x16.popcnt (i8x16.splat (i32.extend8_s (i32.trunc_sat_f32_s (f32.const 0)))))))
export const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  5, 3, 1, 0, 1, 10, 26, 1, 24, 0, 65, 0, 65, 0, 65, 0, 252, 10, 0, 0, 67, 0, 0, 0, 0, 252, 0, 192, 253, 15,
  253, 98, 11]);

let simdSupported;
export function hasSimd() {
  if (simdSupported === undefined) {
    try { simdSupported = WebAssembly.validate(SIMD_PROBE); } catch { simdSupported = false; }
  }
  return simdSupported;
}

async function toModule(src, what) {
  if (src instanceof WebAssembly.Module) return src;
  if (typeof src === 'string' || (typeof URL !== 'undefined' && src instanceof URL)) {
    src = await fetch(src);
  }
  if (typeof Response !== 'undefined' && src instanceof Response) {
    if (!src.ok) throw new DiscoError('INVALID_ARGUMENT', `${what}: HTTP ${src.status} fetching ${src.url}`);
    if (WebAssembly.compileStreaming && /application\/wasm/.test(src.headers.get('content-type') ?? '')) {
      return WebAssembly.compileStreaming(src);
    }
    src = await src.arrayBuffer();
  }
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) {
    try {
      return await WebAssembly.compile(src);
    } catch (e) {
      throw new DiscoError('INVALID_ARGUMENT', `${what} is not a valid WebAssembly module for this engine (${e.message})`, { cause: e });
    }
  }
  throw new DiscoError('INVALID_ARGUMENT', `${what} must be a WebAssembly.Module, bytes, a Response or a URL, got ${typeName(src)}`);
}

/**
 * wasm: { simd, plain } (any of Module | bytes | Response | URL each; either may be absent), or a
 * single one of those. With both, SIMD128 is used when the engine validates it.
 * Returns { module, simd }.
 */
export async function compileDisco(wasm) {
  if (wasm === undefined || wasm === null) {
    throw new DiscoError('INVALID_ARGUMENT', 'wasm is required: pass { simd, plain } bytes/Modules/URLs (the @disco/sdk/node entry loads the packaged files)');
  }
  if (wasm instanceof Promise) wasm = await wasm;
  const isPair = typeof wasm === 'object' && !(wasm instanceof WebAssembly.Module) && !ArrayBuffer.isView(wasm)
    && !(wasm instanceof ArrayBuffer) && !(typeof URL !== 'undefined' && wasm instanceof URL)
    && !(typeof Response !== 'undefined' && wasm instanceof Response) && ('simd' in wasm || 'plain' in wasm);
  if (!isPair) return { module: await toModule(wasm, 'wasm'), simd: undefined };
  if (wasm.simd && hasSimd()) return { module: await toModule(wasm.simd, 'wasm.simd'), simd: true };
  if (wasm.plain) return { module: await toModule(wasm.plain, 'wasm.plain'), simd: false };
  throw new DiscoError('UNSUPPORTED', 'this engine lacks WebAssembly SIMD128 and no plain build (wasm.plain) was given');
}

/** Instantiates with the minimal imports disco.wasm declares; unknown imports trap with a clear error. */
export async function instantiateDisco(module) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') {
      throw new DiscoError('UNSUPPORTED', `disco.wasm imports ${imp.kind} ${imp.module}.${imp.name}; rebuild it with wasm/build.sh`);
    }
    const ns = (imports[imp.module] ??= {});
    if (imp.name === 'emscripten_notify_memory_growth') ns[imp.name] = () => {};
    else if (imp.name === 'proc_exit' || imp.name === 'abort') {
      ns[imp.name] = (code) => { throw new DiscoError('INTERNAL', `disco.wasm aborted (exit ${code})`); };
    } else {
      ns[imp.name] = () => { throw new DiscoError('UNSUPPORTED', `disco.wasm called ${imp.module}.${imp.name}, which the SDK does not provide`); };
    }
  }
  const instance = await WebAssembly.instantiate(module, imports);
  if (typeof instance.exports._initialize === 'function') instance.exports._initialize();
  return instance;
}
