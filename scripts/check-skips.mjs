// Fails when a test that must run was skipped (scripts/test.sh runs it after the suites).
//   node scripts/check-skips.mjs --allow tests/ci_may_skip.txt [--junit CTEST_JUNIT.xml]...
//                                [--tap NAME=NODE_TEST_OUTPUT.txt]...
// Lists every skipped test with its reason; exits 1 when one of them is not matched by a pattern in
// the --allow file (one regular expression per line, '#' comments), 2 on a missing or unreadable
// input. DISCO_ALLOW_SKIP=1 lists them and exits 0 (local runs without em++, node, ...).
// CTest: `ctest --output-junit FILE` (a skipped <testcase> holds <skipped>; the reason is the test's
// "SKIPPED: ..." line, tests/run_if.sh, or GoogleTest's GTEST_SKIP message). node --test: its TAP
// output (the default when stdout is not a terminal): `ok N - name # SKIP reason`.
import { readFileSync } from 'node:fs';
import { isMain, parseCli } from '../lib/cli.mjs';

function die(msg) {
  console.error(`check-skips: ${msg}`);
  process.exit(2);
}
function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    die(`cannot read ${path}: ${e.message}`);
  }
}
const unxml = (s) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** The skipped test cases of a CTest JUnit file: [{ name, reason }]. */
export function junitSkips(xml) {
  const out = [];
  for (const m of xml.matchAll(/<testcase\b[^>]*\bname="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
    const body = m[2];
    if (!/<skipped\b/.test(body)) continue;
    const text = unxml((body.match(/<system-out>([\s\S]*?)<\/system-out>/) ?? [, ''])[1]);
    const reason =
      (text.match(/^SKIPPED: (.*)$/m) ?? [])[1] ??
      (text.match(/: Skipped\n(.+)/) ?? [])[1] ??
      unxml((body.match(/<skipped\b[^>]*message="([^"]*)"/) ?? [, 'no reason given'])[1]);
    out.push({ name: unxml(m[1]), reason: reason.trim() });
  }
  return out;
}

/** The skipped tests of node --test's TAP output: [{ name, reason }] (suite-level skips included). */
export function tapSkips(text, prefix) {
  const out = [];
  for (const m of text.matchAll(/^\s*ok \d+ - (.*?) # SKIP\b ?(.*)$/gm)) {
    out.push({ name: `${prefix}: ${m[1]}`, reason: m[2].trim() || 'no reason given' });
  }
  // A skip count without skip lines (another reporter) still counts.
  const counted = [...text.matchAll(/^# skipped (\d+)$/gm)].reduce((n, c) => n + Number(c[1]), 0);
  if (counted > out.length) out.push({ name: `${prefix}: ${counted - out.length} more`, reason: 'skipped (see its output)' });
  return out;
}

/** The allow patterns of a ci_may_skip file. */
export function allowPatterns(text) {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((p) => new RegExp(p));
}

if (isMain(import.meta.url)) {
  const usage = 'usage: node scripts/check-skips.mjs --allow FILE [--junit CTEST_JUNIT.xml]... [--tap NAME=NODE_TEST_OUTPUT.txt]...';
  const { values } = parseCli({
    name: 'check-skips',
    usage,
    options: {
      allow: { type: 'string' },
      junit: { type: 'string', multiple: true, default: [] },
      tap: { type: 'string', multiple: true, default: [] },
    },
  });
  if (!values.allow) die('--allow FILE is required');
  const allow = allowPatterns(read(values.allow));
  const skips = [];
  for (const f of values.junit) skips.push(...junitSkips(read(f)));
  for (const spec of values.tap) {
    const eq = spec.indexOf('=');
    if (eq <= 0) die(`--tap expects NAME=FILE, got '${spec}'`);
    skips.push(...tapSkips(read(spec.slice(eq + 1)), spec.slice(0, eq)));
  }
  const refused = skips.filter((s) => !allow.some((re) => re.test(s.name)));
  for (const s of skips) {
    console.log(`${refused.includes(s) ? 'SKIPPED (must run in CI)' : 'skipped (allowed)'}: ${s.name}: ${s.reason}`);
  }
  if (refused.length === 0) {
    console.log(`check-skips: ${skips.length} skipped, all allowed by ${values.allow}`);
  } else if (process.env.DISCO_ALLOW_SKIP === '1') {
    console.log(`check-skips: ${refused.length} test(s) that must run in CI were skipped (allowed here: DISCO_ALLOW_SKIP=1)`);
  } else {
    console.log(
      `check-skips: ${refused.length} test(s) that must run in CI were skipped: install what they name ` +
        `(scripts/setup.sh) or set DISCO_ALLOW_SKIP=1 for a local run (${values.allow} lists the allowed skips)`,
    );
    process.exit(1);
  }
}
