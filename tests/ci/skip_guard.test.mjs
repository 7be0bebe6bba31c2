// tests/run_if.sh and scripts/check-skips.mjs: a missing tool makes a test skip with its reason,
// and the CI guard fails on a skip its allow list does not name (DISCO_ALLOW_SKIP=1 lists only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runIf = join(root, 'tests', 'run_if.sh');
const check = join(root, 'scripts', 'check-skips.mjs');

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, DISCO_ALLOW_SKIP: '', ...env } });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('run_if.sh: runs the command when the tools are there, else SKIPPED: reason and exit 77', () => {
  const ok = run('sh', [runIf, '--tool', 'sh', '--', 'sh', '-c', 'echo ran; exit 3']);
  assert.equal(ok.code, 3);  // the command's own status
  assert.match(ok.out, /ran/);
  const miss = run('sh', [runIf, '--tool', 'sh', '--tool', 'no-such-tool-xyz', '--file', '/no/such/file', '--', 'echo', 'ran']);
  assert.equal(miss.code, 77);
  assert.match(miss.out, /^SKIPPED: no-such-tool-xyz is not on PATH .*; \/no\/such\/file does not exist$/m);
  assert.doesNotMatch(miss.out, /ran/);
  const placeholder = run('sh', [runIf, '--missing', 'not built in this configuration: disco-train']);
  assert.equal(placeholder.code, 77);
  assert.match(placeholder.out, /^SKIPPED: not built in this configuration: disco-train$/m);
});

// The shape `ctest --output-junit` writes (CMake 3.25): a run_if.sh skip, a GTEST_SKIP, a pass.
const junit = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="(empty)" tests="3" failures="0" disabled="0" skipped="2">
	<testcase name="RuntimeWasmKernels" classname="RuntimeWasmKernels" time="0.01" status="notrun">
		<skipped message="SKIP_RETURN_CODE=77"/>
		<system-out>SKIPPED: em++ is not on PATH (scripts/setup.sh installs it)
</system-out>
	</testcase>
	<testcase name="DataReal.Hillstrom" classname="DataReal.Hillstrom" time="0.01" status="notrun">
		<skipped message="SKIP_REGULAR_EXPRESSION_MATCHED"/>
		<system-out>[ RUN      ] DataReal.Hillstrom
/src/tests/data/real_data_test.cpp:28: Skipped
real data not found at /x (set DISCO_DATA to the shared data folder)
</system-out>
	</testcase>
	<testcase name="EvalReport.TextTableHasHeaderAndValues" classname="EvalReport.TextTableHasHeaderAndValues" time="0.01" status="run">
		<system-out>[  PASSED  ] 1 test.</system-out>
	</testcase>
</testsuite>
`;
const tap = `TAP version 13
# Subtest: browser: minified SDK
ok 1 - browser: minified SDK # SKIP no Chromium at /usr/bin/chromium (apt-get install chromium)
# Subtest: bundle loads
ok 2 - bundle loads
1..2
# tests 2
# skipped 1
`;

test('check-skips.mjs: names every skip with its reason, fails on one the allow list lacks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'disco-skips-'));
  try {
    writeFileSync(join(dir, 'ctest.xml'), junit);
    writeFileSync(join(dir, 'sdk.tap'), tap);
    writeFileSync(join(dir, 'allow-data.txt'), '# data only\n^DataReal\\.\n');
    writeFileSync(join(dir, 'allow-all.txt'), '^DataReal\\.\n^RuntimeWasm\n^sdk-js: browser\n');
    const args = (allow) => [check, '--allow', join(dir, allow), '--junit', join(dir, 'ctest.xml'), '--tap', `sdk-js=${join(dir, 'sdk.tap')}`];

    const refused = run('node', args('allow-data.txt'));
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /SKIPPED \(must run in CI\): RuntimeWasmKernels: em\+\+ is not on PATH/);
    assert.match(refused.out, /SKIPPED \(must run in CI\): sdk-js: browser: minified SDK: no Chromium at/);
    assert.match(refused.out, /skipped \(allowed\): DataReal\.Hillstrom: real data not found at \/x/);
    assert.match(refused.out, /2 test\(s\) that must run in CI were skipped/);
    assert.doesNotMatch(refused.out, /EvalReport/);

    const local = run('node', args('allow-data.txt'), { DISCO_ALLOW_SKIP: '1' });
    assert.equal(local.code, 0, local.out);
    assert.match(local.out, /allowed here: DISCO_ALLOW_SKIP=1/);

    const allowed = run('node', args('allow-all.txt'));
    assert.equal(allowed.code, 0, allowed.out);
    assert.match(allowed.out, /3 skipped, all allowed/);

    const missing = run('node', [check, '--allow', join(dir, 'allow-all.txt'), '--junit', join(dir, 'none.xml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.out, /cannot read .*none\.xml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the repository allow list only names the real-data suites', async () => {
  const { allowPatterns } = await import(check);
  const { readFileSync } = await import('node:fs');
  const pats = allowPatterns(readFileSync(join(root, 'tests', 'ci_may_skip.txt'), 'utf8'));
  const allowed = (n) => pats.some((re) => re.test(n));
  for (const n of ['DataReal.Yoochoose', 'OpeObp.ExactIpwSnipwOnTheFullLogs', 'SimCalibrationReal.HillstromPromotion'])
    assert.ok(allowed(n), n);
  for (const n of ['RuntimeWasmDecisionsIdentical', 'BanditWasmGolden', 'Loop.quick', 'CollectorJetStream.KeepsAcceptingWhileOneOfThreeNodesIsDown', 'sdk-js: browser: minified SDK'])
    assert.ok(!allowed(n), n);
});
