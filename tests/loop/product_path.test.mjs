// The loop runs only what a store runs (loop/README.md, the product path): the SDK through its package entry points
// (@disco/sdk, installed in loop/node_modules from ../sdk-js), never the SDK's source files, and no
// learning code of its own (the policy is fitted by disco-train policy, the gate is disco-eval's).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const LOOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../loop');
const sources = fs.readdirSync(LOOP).filter((f) => /\.(mjs|js|cjs)$/.test(f)).map((f) => [f, fs.readFileSync(path.join(LOOP, f), 'utf8')]);

const imports = (text) => [...text.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

test('loop/*.mjs import no sdk-js/src file, only the package @disco/sdk', () => {
  assert.ok(sources.some(([f]) => f === 'loop.mjs'), 'loop/loop.mjs is there');
  for (const [f, text] of sources) {
    assert.doesNotMatch(text, /sdk-js\/src/, `${f} names sdk-js/src`);
    assert.doesNotMatch(text, /from\s+['"]\.\.\/sdk-js/, `${f} imports from ../sdk-js by path`);
    for (const spec of imports(text)) {
      const ok = spec.startsWith('node:') || spec.startsWith('./') || /^\.\.\/lib\/[a-z_]+\.mjs$/.test(spec) || spec === '@disco/sdk' ||
        /^@disco\/sdk\/(node|edge|transport|token|wire)$/.test(spec);
      assert.ok(ok, `${f} imports '${spec}': only node:*, ./ files of loop/, ../lib/*.mjs and @disco/sdk's public entries are allowed`);
    }
  }
});

test('the shared modules loop/ uses (../lib/*.mjs) import only node:* (no product code through them)', () => {
  const used = new Set(sources.flatMap(([, text]) => imports(text).filter((s) => s.startsWith('../lib/'))));
  assert.ok(used.has('../lib/csv.mjs'), 'loop/ reads CSV through lib/csv.mjs');
  for (const spec of used) {
    const text = fs.readFileSync(path.join(LOOP, spec), 'utf8');
    for (const s of imports(text)) assert.ok(s.startsWith('node:'), `${spec} imports '${s}'`);
  }
});

test('loop/ keeps no CSV reader or wire record of its own', () => {
  for (const [f, text] of sources) {
    assert.doesNotMatch(text, /function\s+(csvSplit|readCsv|parseCsv|splitCsv)\b/, `${f} has its own CSV reader (use ../lib/csv.mjs)`);
    assert.doesNotMatch(text, /enqueue\(\s*'(decisions|events)'\s*,\s*\{/, `${f} builds a decision or event record by hand (use @disco/sdk/wire)`);
    assert.doesNotMatch(text, /user_key:/, `${f} builds an event or decision record by hand (use @disco/sdk/wire)`);
  }
});

test('the loop keeps no learning code of its own', () => {
  for (const gone of ['bandit_prior.mjs', 'delayed_cost.mjs', 'bandit_state.mjs']) assert.ok(!fs.existsSync(path.join(LOOP, gone)), `loop/${gone} is back`);
  const loop = sources.map(([, text]) => text).join('\n');
  for (const cli of ["'policy'", "'gate'", "'--canonical'"]) assert.ok(loop.includes(cli), `loop/*.mjs run ${cli}`);
  assert.match(loop, /createEdgeHandler/);
});

test('@disco/sdk resolves from loop/ to the package in sdk-js (loop/package.json, npm ci)', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(LOOP, 'package.json'), 'utf8'));
  assert.equal(pkg.dependencies['@disco/sdk'], 'file:../sdk-js');
  const require = createRequire(path.join(LOOP, 'package.json'));
  const resolved = fs.realpathSync(require.resolve('@disco/sdk/package.json'));
  assert.equal(resolved, fs.realpathSync(path.join(LOOP, '../sdk-js/package.json')));
});
