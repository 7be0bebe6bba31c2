// The SDK picks disco-simd.wasm when WebAssembly.validate accepts its probe (sdk-js/src/wasm.js):
// the probe must use every wasm feature the SIMD build is compiled with (wasm/CMakeLists.txt), or an
// engine with SIMD but without one of them would be handed a module it cannot compile.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SIMD_PROBE } from '../../sdk-js/src/wasm.js';

// clang feature flag -> the opcode bytes of one instruction of that feature
const OPCODES = {
  '-msimd128': [0xfd, 0x62],            // i8x16.popcnt
  '-mbulk-memory': [0xfc, 0x0a, 0, 0],  // memory.copy
  '-mnontrapping-fptoint': [0xfc, 0x00], // i32.trunc_sat_f32_s
  '-msign-ext': [0xc0],                 // i32.extend8_s
};

const has = (bytes, seq) => bytes.some((_, i) => seq.every((b, k) => bytes[i + k] === b));

test('wasm probe: uses every feature of the SIMD build, and validates here', () => {
  const cmake = readFileSync(new URL('../../wasm/CMakeLists.txt', import.meta.url), 'utf8');
  const m = cmake.match(/set\(_flags (-m[^)]*)\)/);
  assert.ok(m, 'wasm/CMakeLists.txt: the SIMD variant\'s set(_flags ...) line was not found');
  const flags = m[1].trim().split(/\s+/);
  assert.ok(flags.includes('-msimd128'), `SIMD flags ${flags.join(' ')}`);
  for (const f of flags) {
    assert.ok(OPCODES[f], `${f}: add an instruction of this feature to SIMD_PROBE (sdk-js/src/wasm.js) and here`);
    assert.ok(has([...SIMD_PROBE], OPCODES[f]), `SIMD_PROBE does not use ${f}`);
  }
  assert.equal(WebAssembly.validate(SIMD_PROBE), true);
  // the probe is a probe: a module using an unknown opcode does not validate
  const bad = Uint8Array.from(SIMD_PROBE);
  bad[bad.length - 2] = 0xff;
  assert.equal(WebAssembly.validate(bad), false);
});
