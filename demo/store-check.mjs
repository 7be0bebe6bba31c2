// Reads what the collector stored: `disco-collector export --include-pending` of a data folder,
// parsed into objects keyed by the CSV header (used by demo/probe.mjs and tests/browser).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvObjects } from '../lib/csv.mjs';

/** Every decision the collector holds (closed or pending), with its joined outcome columns. */
export function exportDecisions(collectorBin, dataDir) {
  const dir = mkdtempSync(join(tmpdir(), 'disco-export-'));
  try {
    const out = join(dir, 'joined.csv');
    execFileSync(collectorBin, ['export', '--data', dataDir, '--out', out, '--include-pending'], { stdio: 'pipe' });
    return csvObjects(readFileSync(out, 'utf8'), out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
