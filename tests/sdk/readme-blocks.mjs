// Runs sdk-js/README.md's quickstart as written: its fenced code blocks, extracted from the README
// itself, so the docs cannot drift from what works. Blocks are ```LANG [TAG]: untagged `sh`
// blocks run in order in one bash (first terminal), `sh collector` is started in the background
// (second terminal), `js FILE` / `capnp FILE` are written to FILE in the project folder, `sh run`
// blocks run after that, the `edge-*` blocks belong to the workerd test. The only edits: the
// README's fixed ports (8787 collector, 8789 edge) become free ones, so runs never collide.
import { readFileSync, writeFileSync, mkdtempSync, openSync } from 'node:fs';
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers.mjs';

export const README = join(ROOT, 'sdk-js/README.md');

/** The fenced blocks of the README's "Quickstart" section: [{ lang, tag, code }]. */
export function quickstartBlocks(text = readFileSync(README, 'utf8')) {
  const start = text.indexOf('\n## Quickstart');
  if (start < 0) throw new Error('sdk-js/README.md has no "## Quickstart" section');
  const end = text.indexOf('\n## ', start + 5);
  const section = text.slice(start, end < 0 ? undefined : end);
  const blocks = [];
  for (const m of section.matchAll(/^```(\w+)(?:[ \t]+([\w.-]+))?\n([\s\S]*?)^```$/gm)) {
    blocks.push({ lang: m[1], tag: m[2] ?? '', code: m[3] });
  }
  return blocks;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** A blank folder, the README's code with its ports replaced, and helpers to run its blocks. */
export async function quickstart() {
  const dir = mkdtempSync(join(tmpdir(), 'disco-quickstart-'));
  const ports = { 8787: await freePort(), 8789: await freePort() };
  const fix = (code) => code.replace(/127\.0\.0\.1:(8787|8789)/g, (_, p) => `127.0.0.1:${ports[p]}`);
  const blocks = quickstartBlocks().map((b) => ({ ...b, code: fix(b.code) }));
  const env = { ...process.env, DISCO: ROOT, npm_config_loglevel: 'error' };
  const shop = join(dir, 'shop');
  const bash = async (code, cwd = dir, timeout = 300_000) => {
    try {
      const r = await promisify(execFile)('bash', ['-c', `set -euo pipefail\nexport B="$DISCO/build/release"\n${code}`], { cwd, env, encoding: 'utf8', timeout, maxBuffer: 1 << 24 });
      return r.stdout;
    } catch (e) {
      throw new Error(`README block failed (${e.code ?? e.signal}) in ${cwd}:\n${code}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`);
    }
  };
  /** Starts a long-running block; resolves when `ready` appears in its output (null: at once). */
  const background = (code, cwd, ready, what) => new Promise((resolve, reject) => {
    const log = join(dir, `${what}.log`);
    const fd = openSync(log, 'w');
    const child = spawn('bash', ['-c', `set -euo pipefail\nexec ${code.trim().split('\n').filter((l) => !/^B=/.test(l)).join('\n')}`], {
      cwd, env: { ...env, B: join(ROOT, 'build/release') }, stdio: ['ignore', fd, fd],
      detached: true, // its own process group: stop() ends what it started too (npx -> workerd)
    });
    if (ready === null) { resolve({ child, log }); return; } // the caller polls for readiness
    const t0 = Date.now();
    const poll = setInterval(() => {
      const out = readFileSync(log, 'utf8');
      if (ready.test(out)) { clearInterval(poll); resolve({ child, log }); } else if (child.exitCode !== null || Date.now() - t0 > 60_000) {
        clearInterval(poll);
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        reject(new Error(`${what} did not start (exit ${child.exitCode}):\n${code}\n--- output\n${out}`));
      }
    }, 50);
  });
  const write = (b) => writeFileSync(join(shop, b.tag), b.code);
  return { dir, shop, ports, blocks, bash, background, write, env };
}

/** Stops a background block's process group (the block and what it started) and waits for it. */
export async function stop(child) {
  if (!child) return;
  const group = (sig) => { try { process.kill(-child.pid, sig); } catch { /* gone */ } };
  if (child.exitCode === null && child.signalCode === null) {
    const done = new Promise((r) => child.once('exit', r));
    group('SIGTERM');
    const t = setTimeout(() => group('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
  group('SIGKILL'); // children that outlived the block
}
