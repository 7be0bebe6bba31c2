// The real disco-collector (build/release/collector/disco-collector) on 127.0.0.1, for the SDK's
// tests: a temp data dir, one site per { id, secret }, a free port; stop() ends it.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBuilt } from './helpers.mjs';

export function collectorBinary() {
  const p = findBuilt('collector/disco-collector', 'DISCO_COLLECTOR');
  if (!p) throw new Error('tests/sdk: build/release/collector/disco-collector not built: run scripts/setup.sh (or cmake --build build/release --target disco-collector)');
  return p;
}

export const keyIdOf = (secret) => createHash('sha256').update(secret).digest('hex').slice(0, 16);

export async function startCollector({ sites = [{ id: 'shop', secret: 'site-secret-for-the-sdk-tests' }], args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'disco-collector-'));
  const argv = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--sweep-interval-ms', '100'];
  for (const s of sites) argv.push('--site', `${s.id}:${keyIdOf(s.secret)}:${s.secret}`);
  argv.push(...args); // after the sites: a write_key or site_key names its site

  const child = spawn(collectorBinary(), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`collector did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`collector exited ${code}:\n${out}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    dir, port, base, url: `${base}/v1/events`, child, log: () => out,
    /** Publishes a bundle the way an operator does: write, then rename over bundle.disco. */
    publish(bytes) {
      writeFileSync(join(dir, 'bundle.tmp'), bytes);
      renameSync(join(dir, 'bundle.tmp'), join(dir, 'bundle.disco'));
    },
    exportCanonical() {
      const outDir = mkdtempSync(join(tmpdir(), 'disco-export-'));
      execFileSync(collectorBinary(), ['export', '--data', dir, '--canonical', outDir, '--include-pending'], { stdio: 'pipe' });
      return { dir: outDir, read: (f) => readFileSync(join(outDir, f), 'utf8') };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}
