// CTest's PASS_REGULAR_EXPRESSION makes a test pass when its output matches, whatever its exit
// status: the RuntimeWasm* tests once passed that way even when their command failed. Every test
// of this build must be judged by its exit status; run_if.sh tests keep SKIP_RETURN_CODE 77.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ctest = process.env.DISCO_CTEST ?? 'ctest';
const dir = process.env.DISCO_CTEST_DIR ?? join(root, 'build', 'release');

function tests() {
  const r = spawnSync(ctest, ['--test-dir', dir, '--show-only=json-v1'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${ctest} --show-only failed: ${r.stderr}`);
  return JSON.parse(r.stdout).tests;
}
const prop = (t, name) => (t.properties ?? []).find((p) => p.name === name)?.value;

test('no test passes by matching its output instead of its exit status', () => {
  const all = tests();
  assert.ok(all.length > 50, `only ${all.length} tests registered in ${dir}`);
  const byOutput = all.filter((t) => prop(t, 'PASS_REGULAR_EXPRESSION') !== undefined).map((t) => t.name);
  assert.deepEqual(byOutput, [], 'these tests ignore their exit status (PASS_REGULAR_EXPRESSION)');
  for (const name of ['RuntimeWasmKernels', 'RuntimeWasmDecisionsIdentical', 'BanditWasmGolden']) {
    const t = all.find((x) => x.name === name);
    assert.ok(t, `${name} is registered`);
    if (t.command.some((a) => a.endsWith('run_if.sh'))) assert.equal(Number(prop(t, 'SKIP_RETURN_CODE')), 77, `${name} skip code`);
  }
});
