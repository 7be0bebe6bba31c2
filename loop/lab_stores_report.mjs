// The table, summary and self-contained HTML report (inline SVG, no script, no network) of
// loop/disco-lab-stores: one disco-loop-lab JSON per store in, stores.md / stores.json /
// stores.html out. Usage: node loop/lab_stores_report.mjs OUT_DIR LAB_JSON...
import fs from 'node:fs';
import { parseCli } from '../lib/cli.mjs';

const [out, ...files] = parseCli({ name: 'lab_stores_report', usage: 'usage: node loop/lab_stores_report.mjs OUT_DIR LAB_JSON...', options: {},
  allowPositionals: true, positionals: [2, Infinity] }).positionals;
const runs = files.map((f) => {
  const r = JSON.parse(fs.readFileSync(f, 'utf8'));
  if (!r.none || !r.oracle || !r.best_fixed || !Array.isArray(r.policies) || r.policies.length < 2)
    throw new Error(`${f}: expected disco-loop-lab --json output with two policies (myopic, long-term)`);
  return r;
});
const pct = (a, b) => `${a >= b ? '+' : ''}${(100 * (a / b - 1)).toFixed(2)}%`;
const lift = (p, r) => p.margin / r.none.margin - 1;
const room = (p, r) => (p.margin - r.none.margin) / (r.oracle.margin - r.none.margin);
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;

const cols = ['store', 'no discount', 'best fixed', 'oracle', 'myopic bandit', 'long-term (value model)',
  'room closed, myopic / long-term', 'long-term weekly vs none', 'discounted, long-term', 'spend, long-term',
  'revenue vs none', 'conversion, none / long-term'];
const table = runs.map((r) => {
  const [my, val] = r.policies;
  return [String(r.seed), r.none.margin.toFixed(0),
    `${r.best_fixed.margin.toFixed(0)} (${r.best_fixed.arm}, ${pct(r.best_fixed.margin, r.none.margin)})`,
    r.oracle.margin.toFixed(0), `${my.margin.toFixed(0)} (${pct(my.margin, r.none.margin)})`,
    `${val.margin.toFixed(0)} (${pct(val.margin, r.none.margin)})`,
    `${(100 * room(my, r)).toFixed(1)}% / ${(100 * room(val, r)).toFixed(1)}%`,
    val.weeks.map((w, i) => pct(w, r.none.weeks[i])).join(' '),
    `${(100 * val.discounted / val.offers).toFixed(1)}%`, val.spend.toFixed(0), pct(val.revenue, r.none.revenue),
    `${(100 * r.none.conversions / r.none.decisions).toFixed(1)}% / ${(100 * val.conversions / val.decisions).toFixed(1)}%`];
});
const L = { myopic: runs.map((r) => lift(r.policies[0], r)), value: runs.map((r) => lift(r.policies[1], r)) };
const R = { myopic: runs.map((r) => room(r.policies[0], r)), value: runs.map((r) => room(r.policies[1], r)) };
// weekly share of the oracle, mean over stores
const nWeeks = Math.min(...runs.map((r) => r.oracle.weeks.length));
const weekly = (k) => Array.from({ length: nWeeks }, (_, w) => mean(runs.map((r) => (k < 0 ? r.none : r.policies[k]).weeks[w] / r.oracle.weeks[w])));
const share = { none: weekly(-1), myopic: weekly(0), value: weekly(1) };
const summary = `mean lift over no discount: myopic ${(100 * mean(L.myopic)).toFixed(2)}%, long-term ${(100 * mean(L.value)).toFixed(2)}%; ` +
  `stores above no discount: myopic ${L.myopic.filter((x) => x > 0).length}/${runs.length}, long-term ${L.value.filter((x) => x > 0).length}/${runs.length}; ` +
  `mean room closed: myopic ${(100 * mean(R.myopic)).toFixed(1)}%, long-term ${(100 * mean(R.value)).toFixed(1)}%; ` +
  `long-term above every fixed discount on ${runs.filter((r) => r.policies[1].margin > r.best_fixed.margin).length}/${runs.length}; ` +
  `weekly share of the oracle (mean over stores), long-term: ${share.value.map((x) => (100 * x).toFixed(1) + '%').join(' -> ')} ` +
  `(no discount ${share.none.map((x) => (100 * x).toFixed(1) + '%').join(' -> ')})`;

const md = [`| ${cols.join(' | ')} |`, `|${' --- |'.repeat(cols.length)}`, ...table.map((row) => `| ${row.join(' | ')} |`)].join('\n') +
  `\n\n${summary}\n`;
fs.writeFileSync(`${out}/stores.md`, md);
fs.writeFileSync(`${out}/stores.json`, JSON.stringify({ runs, summary, weekly_share_of_oracle: share }, null, 1));

// ---- HTML: lift per store (bars), weekly share of the oracle (lines), the table ----
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const colors = { fixed: '#bbb', myopic: '#e69f00', value: '#0072b2', oracle: '#009e73', none: '#999' };
function barChart() {
  const W = 860, H = 300, padL = 50, padB = 40, padT = 20;
  const series = [['best fixed', (r) => r.best_fixed.margin / r.none.margin - 1, colors.fixed],
    ['myopic bandit', (r) => lift(r.policies[0], r), colors.myopic], ['long-term', (r) => lift(r.policies[1], r), colors.value]];
  const vals = runs.flatMap((r) => series.map(([, f]) => f(r)));
  const lo = Math.min(-0.02, ...vals), hi = Math.max(0.02, ...vals);
  const y = (v) => padT + (hi - v) / (hi - lo) * (H - padT - padB);
  const gw = (W - padL - 10) / runs.length, bw = gw / (series.length + 1);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`;
  for (let t = Math.ceil(lo * 50) / 50; t <= hi + 1e-9; t += 0.02)
    s += `<line x1="${padL}" x2="${W - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${padL - 4}" y="${y(t) + 4}" text-anchor="end">${(100 * t).toFixed(0)}%</text>`;
  s += `<line x1="${padL}" x2="${W - 10}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`;
  runs.forEach((r, i) => {
    series.forEach(([name, f, c], k) => {
      const v = f(r), x = padL + i * gw + (k + 0.5) * bw;
      s += `<rect x="${x}" y="${Math.min(y(v), y(0))}" width="${bw * 0.9}" height="${Math.abs(y(v) - y(0))}" fill="${c}"><title>store ${r.seed}, ${name}: ${(100 * v).toFixed(2)}%</title></rect>`;
    });
    s += `<text x="${padL + i * gw + gw / 2}" y="${H - padB + 14}" text-anchor="middle">${r.seed}</text>`;
  });
  s += `<text x="${padL}" y="${H - 6}">store (seed); margin lift over no discount, 21 loop days</text>`;
  series.forEach(([name, , c], k) => { s += `<rect x="${W - 300 + k * 100}" y="4" width="10" height="10" fill="${c}"/><text x="${W - 286 + k * 100}" y="13">${name}</text>`; });
  return s + '</svg>';
}
function lineChart() {
  const W = 500, H = 260, padL = 50, padB = 40, padT = 20;
  const all = Object.values(share).flat(), lo = Math.min(...all) - 0.02, hi = Math.max(...all) + 0.02;
  const x = (w) => padL + (nWeeks <= 1 ? 0 : w / (nWeeks - 1)) * (W - padL - 20);
  const y = (v) => padT + (hi - v) / (hi - lo) * (H - padT - padB);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`;
  for (let t = Math.ceil(lo * 50) / 50; t <= hi; t += 0.02)
    s += `<line x1="${padL}" x2="${W - 20}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${padL - 4}" y="${y(t) + 4}" text-anchor="end">${(100 * t).toFixed(0)}%</text>`;
  for (const [k, c] of [['none', colors.none], ['myopic', colors.myopic], ['value', colors.value]]) {
    s += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${share[k].map((v, w) => `${x(w)},${y(v)}`).join(' ')}"/>`;
    share[k].forEach((v, w) => { s += `<circle cx="${x(w)}" cy="${y(v)}" r="3" fill="${c}"><title>${k}, week ${w + 1}: ${(100 * v).toFixed(1)}%</title></circle>`; });
  }
  for (let w = 0; w < nWeeks; w++) s += `<text x="${x(w)}" y="${H - padB + 14}" text-anchor="middle">week ${w + 1}</text>`;
  s += `<text x="${padL}" y="${H - 6}">share of the oracle's margin, mean over stores</text>`;
  [['no discount', colors.none], ['myopic', colors.myopic], ['long-term', colors.value]].forEach(([n, c], k) => {
    s += `<rect x="${padL + 10 + k * 110}" y="4" width="10" height="10" fill="${c}"/><text x="${padL + 24 + k * 110}" y="13">${n}</text>`;
  });
  return s + '</svg>';
}
const html = `<!doctype html><html><head><meta charset="utf-8"><title>disco: long-term policy on ${runs.length} stores</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}</style></head><body>
<h1>Long-term discount policy vs the myopic bandit, ${runs.length} simulated stores</h1>
<p>${esc(summary)}</p>
<h2>Margin lift over no discount per store</h2>${barChart()}
<h2>Weekly share of the oracle</h2>${lineChart()}
<h2>Table</h2><table><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>
${table.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}</table>
<p>World ${esc(runs[0].world)}, ${esc(runs[0].loop_days)} loop days per store. Made by loop/disco-lab-stores.</p></body></html>
`;
fs.writeFileSync(`${out}/stores.html`, html);
process.stdout.write(md);
