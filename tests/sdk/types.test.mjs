// The hand-written .d.ts files declare exactly what each entry point exports at runtime.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.mjs';

const pkg = JSON.parse(readFileSync(join(ROOT, 'sdk-js/package.json'), 'utf8'));

/** Value exports (classes, functions, consts) a .d.ts declares, following `export * from` and re-exports. */
function declaredValues(file, seen = new Set()) {
  if (seen.has(file)) return new Set();
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  const out = new Set();
  for (const m of src.matchAll(/^export\s+(?:declare\s+)?(?:class|function|const|let)\s+([A-Za-z_$][\w$]*)/gm)) out.add(m[1]);
  for (const m of src.matchAll(/^export\s*\{([^}]*)\}\s*from\s*'([^']+)'/gm)) {
    const target = declaredValues(join(file, '..', m[2].replace(/\.js$/, '.d.ts')), new Set(seen));
    for (const name of m[1].split(',').map((s) => s.trim()).filter(Boolean)) if (target.has(name)) out.add(name);
  }
  for (const m of src.matchAll(/^export\s*\*\s*from\s*'([^']+)'/gm)) {
    for (const n of declaredValues(join(file, '..', m[1].replace(/\.js$/, '.d.ts')), seen)) out.add(n);
  }
  return out;
}

// every (entry, condition) pair that names code and types: the "." entry has a node condition
const pairs = [];
for (const [sub, entry] of Object.entries(pkg.exports)) {
  if (typeof entry !== 'object') continue;
  pairs.push([sub, 'default', entry]);
  for (const [cond, v] of Object.entries(entry)) if (v && typeof v === 'object') pairs.push([sub, cond, v]);
}
for (const [sub, cond, entry] of pairs) {
  test(`types: "${sub}" (${cond}) declares exactly its runtime exports`, async () => {
    assert.ok(entry.types && entry.default, `"${sub}" (${cond}) needs both types and default`);
    const mod = await import(join(ROOT, 'sdk-js', entry.default));
    const actual = new Set(Object.keys(mod).filter((k) => k !== 'default'));
    const declared = declaredValues(join(ROOT, 'sdk-js', entry.types));
    assert.deepEqual([...declared].filter((n) => !actual.has(n)).sort(), [], 'declared but not exported');
    assert.deepEqual([...actual].filter((n) => !declared.has(n)).sort(), [], 'exported but not declared');
    assert.ok(actual.size > 0);
  });
}

test('types: the root entry resolves to the Node entry (code and types) under node and to index.js elsewhere', () => {
  assert.deepEqual(pkg.exports['.'].node, { types: './types/node.d.ts', default: './src/node.js' });
  assert.equal(pkg.exports['.'].types, './types/index.d.ts');
  assert.equal(pkg.exports['.'].default, './src/index.js');
  assert.deepEqual(Object.keys(pkg.exports['.']), ['node', 'types', 'default'], 'condition order: node before the generic types');
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.engines.node, '>=18');
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), [], 'no runtime dependencies');
});

test('types: browser and edge modules use no Node-only APIs', () => {
  for (const f of ['index', 'engine', 'wasm', 'bundle', 'util', 'errors', 'transport', 'token', 'edge', 'holdout', 'sync']) {
    const src = readFileSync(join(ROOT, 'sdk-js/src', `${f}.js`), 'utf8');
    assert.doesNotMatch(src, /from\s+'node:|\brequire\(|\bprocess\.|(?<![A-Za-z])Buffer\.|__dirname/, `${f}.js`);
  }
});

test('types: a consumer written like the README type-checks under tsc --strict', { timeout: 120_000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  const tsc = join(ROOT, 'sdk-js/node_modules/typescript/bin/tsc');
  const args = [tsc, '--noEmit', '--strict', '--lib', 'es2022,dom', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', join(ROOT, 'tests/sdk/types/consumer.mts'), ...['index', 'node', 'edge', 'transport', 'token'].map((f) => join(ROOT, `sdk-js/types/${f}.d.ts`))];
  try {
    execFileSync(process.execPath, args, { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc: ${e.stdout}${e.stderr}`);
  }
});
