// Reads what the collector stored: `disco-collector export --include-pending` of a data folder,
// parsed into objects keyed by the CSV header (used by demo/probe.mjs and tests/browser).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function splitCsv(line) {
  const out = []; let cur = ''; let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) { if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c; }
    else if (c === '"') q = true; else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Every decision the collector holds (closed or pending), with its joined outcome columns. */
export function exportDecisions(collectorBin, dataDir) {
  const dir = mkdtempSync(join(tmpdir(), 'disco-export-'));
  try {
    const out = join(dir, 'joined.csv');
    execFileSync(collectorBin, ['export', '--data', dataDir, '--out', out, '--include-pending'], { stdio: 'pipe' });
    const [head, ...rows] = readFileSync(out, 'utf8').trim().split('\n');
    const cols = head.split(',');
    return rows.filter(Boolean).map((r) => {
      const f = splitCsv(r);
      return Object.fromEntries(cols.map((c, i) => [c, f[i]]));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
