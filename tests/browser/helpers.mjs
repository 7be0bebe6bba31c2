// Shared setup of the browser and edge tests: the native build, a small simulated store and a
// signed fixture bundle over its catalog (random weights: these tests check wiring, not quality).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = resolve(ROOT, process.env.DISCO_BUILD ?? 'build/release');
export const CHROMIUM = process.env.DISCO_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'build/browser-screenshots');
// The flags documented for this machine (no sandbox in containers, nothing fetched from the network).
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const bin = (...p) => join(BUILD, ...p);
export const COLLECTOR = bin('collector/disco-collector');
const SIM = bin('trainer/sim/disco-sim');
const MAKE_BUNDLE = [bin('tests/sdk/disco_sdk_make_bundle'), bin('disco_sdk_make_bundle')].find((p) => existsSync(p));

/** Why the tests cannot run here, or null. */
export function missing() {
  const need = [[COLLECTOR, 'disco-collector'], [SIM, 'disco-sim'], [MAKE_BUNDLE ?? bin('tests/sdk/disco_sdk_make_bundle'), 'disco_sdk_make_bundle'],
    [join(ROOT, 'sdk-js/dist/disco.wasm'), 'disco.wasm (wasm/build.sh)'], [CHROMIUM, 'chromium (apt-get install chromium)']];
  const gone = need.filter(([p]) => !p || !existsSync(p)).map(([p, n]) => `${n} (${p})`);
  return gone.length ? `not built: ${gone.join(', ')}; set DISCO_BUILD to a build folder that has them` : null;
}

/** A small store (seed 7) and a signed fixture bundle over its catalog, made once per build folder. */
export function fixture() {
  const dir = join(BUILD, 'browser-fixture');
  const data = join(dir, 'data');
  const done = join(dir, 'ready');
  // remade whenever the tools that wrote it were rebuilt
  const stamp = [SIM, MAKE_BUNDLE, join(ROOT, 'demo/catalog.mjs')].map((p) => { const st = statSync(p); return `${p} ${st.size} ${st.mtimeMs}`; }).join('\n');
  if (!existsSync(done) || readFileSync(done, 'utf8') !== stamp) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync(SIM, ['--seed', '7', '--out', data, '--shoppers', '3000', '--items', '2000', '--days', '7', '--quiet'], { stdio: 'pipe' });
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'private.pem')], { stdio: 'pipe' });
    execFileSync('openssl', ['ec', '-in', join(dir, 'private.pem'), '-pubout', '-outform', 'DER', '-out', join(dir, 'public.der')], { stdio: 'pipe' });
    execFileSync('node', [join(ROOT, 'demo/catalog.mjs'), '--clean-items', data, join(dir, 'items.csv')], { stdio: 'pipe' });
    execFileSync(MAKE_BUNDLE, ['--out', join(dir, 'bundle.disco'), '--catalog', join(dir, 'items.csv'), '--key', join(dir, 'private.pem'),
      '--model-version', 'browser-test-fixture', '--seed', '7'], { stdio: 'pipe' });
    // The same bundle with one payload byte changed (a tampered model): its signature no longer verifies.
    const b = readFileSync(join(dir, 'bundle.disco'));
    b[Math.floor(b.length / 2)] ^= 0x01;
    writeFileSync(join(dir, 'tampered.disco'), b);
    writeFileSync(done, stamp);
  }
  return { dir, data, bundle: join(dir, 'bundle.disco'), tampered: join(dir, 'tampered.disco'), publicKey: join(dir, 'public.der') };
}

/**
 * The fixture's catalog and key with the arms and guardrails of tests/browser/policies/NAME.json
 * (disco_sdk_make_bundle --policy): a bundle whose arms the test knows. Remade with the fixture.
 */
export function policyBundle(fx, name) {
  const policy = join(ROOT, 'tests/browser/policies', `${name}.json`);
  const out = join(fx.dir, `policy-${name}.disco`);
  const stamp = `${out}.stamp`;
  const want = `${readFileSync(policy, 'utf8')}\n${statSync(MAKE_BUNDLE).mtimeMs}`;
  if (!existsSync(out) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    execFileSync(MAKE_BUNDLE, ['--out', out, '--catalog', join(fx.dir, 'items.csv'), '--key', join(fx.dir, 'private.pem'),
      '--model-version', `browser-test-${name}`, '--seed', '7', '--policy', policy], { stdio: 'pipe' });
    writeFileSync(stamp, want);
  }
  return { ...fx, bundle: out };
}

/**
 * Runs demo/serve.sh (interactive mode) on a free port; resolves { url, state, secret, stop } once it
 * printed its URL (args: more serve.sh options, e.g. --shipping-fee). stop() sends SIGINT (Ctrl-C) and resolves { code, output }.
 */
export async function serve({ bundle, publicKey, data }, args = []) {
  const state = mkdtempSync(join(tmpdir(), 'disco-demo-test-'));
  const child = spawn('bash', [join(ROOT, 'demo/serve.sh'), '--build', BUILD, '--data', data, '--state', state, '--port', '0',
    '--bundle', bundle, '--public-key', publicKey, '--bundle-label', 'test fixture: random weights', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`serve.sh printed no URL in 60 s:\n${output}`)), 60000);
    const check = () => {
      const m = output.match(/disco demo store: (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); res(m[1]); }
    };
    child.stdout.on('data', check);
    exited.then(({ code }) => { clearTimeout(timer); rej(new Error(`serve.sh exited (${code}) before serving:\n${output}`)); });
  });
  return {
    url, state, secret: readFileSync(join(state, 'site-secret'), 'utf8').trim(), store: join(state, 'collector'),
    output: () => output,
    stop: async () => {
      child.kill('SIGINT');
      const r = await exited;
      return { ...r, output };
    },
  };
}
