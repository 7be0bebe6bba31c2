// loop/lab_stores_report.mjs: the stores table, summary and HTML from disco-loop-lab JSON files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'loop/lab_stores_report.mjs');
const run = (seed, none, my, val, oracle) => ({
  seed, world: 2, loop_days: 14,
  none: { margin: none, revenue: 1000, spend: 0, decisions: 100, conversions: 40, weeks: [none / 2, none / 2] },
  best_fixed: { arm: '5%', margin: none * 0.95, revenue: 1000, spend: 10, decisions: 100, conversions: 42, weeks: [0, 0] },
  oracle: { margin: oracle, revenue: 1200, spend: 50, decisions: 100, conversions: 60, weeks: [oracle / 2, oracle / 2] },
  policies: [
    { margin: my, revenue: 1010, spend: 5, decisions: 100, conversions: 41, weeks: [my / 2, my / 2], discounted: 10, offers: 100 },
    { margin: val, revenue: 1020, spend: 8, decisions: 100, conversions: 43, weeks: [val * 0.4, val * 0.6], discounted: 20, offers: 100 },
  ],
});

test('lab stores report: table, summary figures and a self-contained HTML', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'disco-stores-'));
  fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(run(1, 1000, 990, 1030, 1200)));
  fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(run(2, 2000, 2040, 2100, 2400)));
  const md = execFileSync(process.execPath, [SCRIPT, dir, path.join(dir, 'a.json'), path.join(dir, 'b.json')], { encoding: 'utf8' });
  assert.match(md, /\| 1 \| 1000 \|/);
  assert.match(md, /1030 \(\+3\.00%\)/);
  assert.match(md, /mean lift over no discount: myopic 0\.50%, long-term 4\.00%/); // (-1% + 2%)/2, (3% + 5%)/2
  assert.match(md, /stores above no discount: myopic 1\/2, long-term 2\/2/);
  assert.match(md, /mean room closed: myopic 2\.5%, long-term 20\.0%/); // (-5% + 10%)/2, (15% + 25%)/2
  const html = fs.readFileSync(path.join(dir, 'stores.html'), 'utf8');
  assert.match(html, /<svg/);
  assert.doesNotMatch(html, /<script|src="http|href="http/);
  const j = JSON.parse(fs.readFileSync(path.join(dir, 'stores.json'), 'utf8'));
  assert.equal(j.runs.length, 2);
  assert.ok(j.weekly_share_of_oracle.value[1] > j.weekly_share_of_oracle.value[0]);
});

test('lab stores report: a file that is not disco-loop-lab output is refused by name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'disco-stores-'));
  fs.writeFileSync(path.join(dir, 'x.json'), '{"seed": 1}');
  const r = spawnSync(process.execPath, [SCRIPT, dir, path.join(dir, 'x.json')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /x\.json: expected disco-loop-lab --json output/);
});
