// lib/cli.mjs (node:util parseArgs with the repository's rules) and the JavaScript entry points that
// use it: an unknown option ends with "NAME: ..." and the usage (exit 2), --help prints the usage
// (exit 0), a string option takes a value beginning with '-', the positional count is checked.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'lib/cli.mjs');
const node = (args, opts = {}) => spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT, timeout: 60_000, ...opts });
const withCli = (body, ...args) => node(['--input-type=module', '-e', `import { parseCli } from ${JSON.stringify(CLI)};\n${body}`, '--', ...args]);
// (node -e puts the arguments from process.argv[1] on)
const PROG = `const r = parseCli({ name: 'prog', argv: process.argv.slice(1), usage: 'usage: prog [--out DIR] [--quick] [--policy-args ARGS] FILE', allowPositionals: true, positionals: [1, 1],
  options: { out: { type: 'string', default: 'out' }, quick: { type: 'boolean' }, 'policy-args': { type: 'string' } } });
console.log(JSON.stringify(r));`;

test('parseCli: values, defaults, positionals', () => {
  const r = withCli(PROG, '--quick', '--out', 'o', 'f.txt');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual({ ...j.values }, { quick: true, out: 'o' });
  assert.deepEqual(j.positionals, ['f.txt']);
  assert.equal(JSON.parse(withCli(PROG, 'f').stdout).values.out, 'out', 'default');
  assert.equal(JSON.parse(withCli(PROG, '--out=x', 'f').stdout).values.out, 'x', '--name=value');
});

test('parseCli: a string option takes a next argument that begins with "-"', () => {
  const r = withCli(PROG, '--policy-args', '--prior-weight 0.5', 'f');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).values['policy-args'], '--prior-weight 0.5');
});

test('parseCli: unknown option, missing value, value on a flag, wrong positional count: NAME: reason + usage, exit 2', () => {
  for (const [args, why] of [[['--nope', 'f'], /Unknown option '--nope'/], [['f', '--out'], /--out/], [['--quick=1', 'f'], /--quick/],
    [[], /expected 1 argument/], [['a', 'b'], /expected 1 argument/]]) {
    const r = withCli(PROG, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^prog: /, args.join(' '));
    assert.match(r.stderr, why, args.join(' '));
    assert.match(r.stderr, /\nusage: prog \[--out DIR\]/, 'the usage follows the error');
    assert.equal(r.stdout, '');
  }
});

test('parseCli: --help and -h print the usage, exit 0', () => {
  for (const h of ['--help', '-h']) {
    const r = withCli(PROG, h);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: prog /);
  }
});

// The entry points that start without a build (no wasm, no binaries needed before parsing).
const runnable = ['loop/loop.mjs', 'loop/lab_stores_report.mjs', 'demo/build-site.mjs', 'demo/catalog.mjs', 'demo/probe.mjs', 'demo/edge/run.mjs',
  'bench/wasm/bench.mjs', 'bench/wasm/compare.mjs', 'bench/wasm/peers.mjs', 'bench/wasm/steady.mjs', 'scripts/check-skips.mjs'];
if (existsSync(join(ROOT, 'tests/browser/node_modules/playwright-core'))) runnable.push('tests/browser/docs-screenshot.mjs');

// Every JavaScript command-line entry point: loop/, demo/, bench/wasm/, scripts/, tests/browser/docs-screenshot.mjs.
const dirs = ['loop', 'demo', 'demo/edge', 'bench/wasm', 'scripts'];
const sources = [...dirs.flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.mjs')).map((f) => `${d}/${f}`)), 'tests/browser/docs-screenshot.mjs'];

test('every entry point parses its arguments with lib/cli.mjs; none reads process.argv itself', () => {
  const parser = { 'loop/loop.mjs': 'loop/options.mjs' };  // the loop's options live in their own module
  for (const f of [...runnable, 'tests/browser/docs-screenshot.mjs']) {
    assert.match(readFileSync(join(ROOT, parser[f] ?? f), 'utf8'), /import \{[^}]*\bparseCli\b[^}]*\} from '(\.\.\/)+lib\/cli\.mjs'/, `${f} does not use lib/cli.mjs`);
  }
  for (const f of sources) {
    for (const line of readFileSync(join(ROOT, f), 'utf8').split('\n')) {
      // the only process.argv left: the -e scripts bench.mjs runs in child processes (their own argv)
      if (/process\.argv/.test(line) && !(f === 'bench/wasm/bench.mjs' && /^\s*const [wk] = new Uint8Array\(readFileSync\(process\.argv\[[123]\]/.test(line))) {
        assert.fail(`${f} reads process.argv itself: ${line.trim()}`);
      }
    }
  }
});

for (const f of runnable) {
  test(`${f}: an unknown option ends with its name, the reason and the usage (exit 2); --help exits 0`, () => {
    const bad = node([join(ROOT, f), '--no-such-option', 'x']);
    assert.equal(bad.status, 2, `${f}: status ${bad.status}\n${bad.stdout}${bad.stderr}`);
    assert.match(bad.stderr, /^[\w/ -]+: Unknown option '--no-such-option'/, f);
    assert.match(bad.stderr, /\n(usage: |disco loop \[)/, `${f}: the usage follows`);
    const help = node([join(ROOT, f), '--help']);
    assert.equal(help.status, 0, `${f} --help: ${help.stderr}`);
    assert.match(help.stdout, /^(usage: |disco loop \[)/, f);
  });
}
