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
