// The loop's chart: margin per simulated day for disco, the best fixed discount, no discount and the
// oracle, as inline SVG (no script, no network), plus a self-contained HTML page around it.
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// retrains: [{ day (0-based loop day it happened at), version, decision: promote|hold, reason }]: the
// go-live gate's decision at each retrain (disco-eval gate).
export function renderChart(res, { bestFixed, retrains = [], title = 'disco loop', summary = null } = {}) {
  const H = res.history_days;
  const days = res.disco.margin.length - H;
  const series = [
    { name: 'oracle', color: '#7f7f7f', dash: '6 4', data: res.oracle.margin.slice(H) },
    { name: 'disco', color: '#d62728', width: 3, data: res.disco.margin.slice(H) },
    { name: `fixed ${res.arms[bestFixed]}`, color: '#1f77b4', data: res.fixed[bestFixed].margin.slice(H) },
    { name: 'no discount', color: '#2ca02c', data: res.fixed[0].margin.slice(H) },
  ];
  // Panel 2: share of the oracle's margin, over a trailing window of up to 3 days (daily traffic
  // varies a lot; the ratio shows learning).
  const win = 3;
  const roll = (arr, d) => arr.slice(Math.max(0, d - win + 1), d + 1).reduce((a, b) => a + b, 0);
  const orc = series[0].data;
  const share = series.slice(1).map((s) => ({ ...s, data: s.data.map((_, d) => (100 * roll(s.data, d)) / Math.max(1e-9, roll(orc, d))) }));
  const W = 880, R = 190, L = 80;
  const parts = [];
  const P1 = { T: 40, B: 330 }, P2 = { T: 400, B: 640 }, Ht = 690;
  const x = (d) => L + (days <= 1 ? 0 : (d * (W - L - R)) / (days - 1));
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Ht}" viewBox="0 0 ${W} ${Ht}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${Ht}" fill="#fff"/>`);
  parts.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  const panel = (P, list, ylabel, fixedRange) => {
    const vals = list.flatMap((s) => s.data);
    let lo = fixedRange ? fixedRange[0] : Math.min(0, ...vals), hi = fixedRange ? fixedRange[1] : Math.max(...vals);
    if (fixedRange) { lo = Math.min(lo, Math.floor(Math.min(...vals) / 10) * 10); hi = Math.max(hi, Math.ceil(Math.max(...vals) / 10) * 10); }
    const span = hi - lo || 1;
    const step = 10 ** Math.floor(Math.log10(span / 5));
    const nice = [1, 2, 5, 10].map((m) => m * step).find((v) => span / v <= 8) ?? step * 10;
    lo = Math.floor(lo / nice) * nice;
    hi = Math.ceil(hi / nice) * nice;
    const y = (v) => P.T + ((hi - v) * (P.B - P.T)) / (hi - lo);
    for (let v = lo; v <= hi + 1e-9; v += nice) {
      parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}${fixedRange ? '%' : ''}</text>`);
    }
    const every = Math.max(1, Math.ceil(days / 15));
    for (let d = 0; d < days; d += every) parts.push(`<text x="${x(d).toFixed(1)}" y="${P.B + 18}" text-anchor="middle">${d + 1}</text>`);
    parts.push(`<text transform="translate(18 ${(P.T + P.B) / 2}) rotate(-90)" text-anchor="middle">${esc(ylabel)}</text>`);
    parts.push(`<line x1="${L}" x2="${L}" y1="${P.T}" y2="${P.B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${P.B}" y2="${P.B}" stroke="#333"/>`);
    for (const r of retrains) {
      // the retrain happens at the start of loop day d (0-based): between days d and d+1 (1-based)
      const xd = x(r.day - 0.5);
      const color = r.decision === 'promote' ? '#9467bd' : '#8c564b';
      parts.push(`<line x1="${xd.toFixed(1)}" x2="${xd.toFixed(1)}" y1="${P.T}" y2="${P.B}" stroke="${color}" stroke-dasharray="3 3"/>`);
      parts.push(`<text x="${(xd + 3).toFixed(1)}" y="${P.T + 12}" fill="${color}" font-size="11">${r.decision === 'promote' ? 'retrain: gate promoted, swap' : 'retrain: gate held'}</text>`);
    }
    list.forEach((s, i) => {
      const pts = s.data.map((v, d) => `${x(d).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts}"/>`);
      const ly = P.T + 16 + i * 20;
      parts.push(`<line x1="${W - R + 14}" x2="${W - R + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
      parts.push(`<text x="${W - R + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
    });
  };
  panel(P1, series, 'margin per day', null);
  parts.push(`<text x="${(L + W - R) / 2}" y="${P1.B + 36}" text-anchor="middle">simulated day of the loop</text>`);
  parts.push(`<text x="${L}" y="${P2.T - 14}" font-size="13" font-weight="bold">share of the oracle's margin (trailing ${win}-day sums)</text>`);
  panel(P2, share, '% of oracle margin', [50, 100]);
  parts.push(`<text x="${(L + W - R) / 2}" y="${P2.B + 36}" text-anchor="middle">simulated day of the loop</text>`);
  if (summary) {
    const ly = P1.T + 16 + series.length * 20 + 10;
    const lines = [
      `last ${summary.last_days} days:`,
      `disco ${summary.pct_of_oracle_last.toFixed(1)}% of oracle`,
      `fixed ${(100 * summary.last.fixed / summary.last.oracle).toFixed(1)}%`,
      `none ${(100 * summary.last.none / summary.last.oracle).toFixed(1)}%`,
    ];
    lines.forEach((t, i) => parts.push(`<text x="${W - R + 14}" y="${ly + i * 16}" fill="#333">${esc(t)}</text>`));
  }
  parts.push('</svg>');
  const svg = parts.join('\n') + '\n';

  const rows = [];
  const cell = (p, g) => {
    const conv = p.decisions[g] ? (100 * p.conversions[g]) / p.decisions[g] : 0;
    return `<td>${p.margin[g].toFixed(0)}</td><td>${p.revenue[g].toFixed(0)}</td><td>${conv.toFixed(1)}%</td><td>${p.discount_spend[g].toFixed(0)}</td>`;
  };
  for (let d = 0; d < days; d++) {
    const g = H + d;
    rows.push(`<tr><td>${d + 1}</td><td>${res.disco.decisions[g].toFixed(0)}</td>${cell(res.disco, g)}${cell(res.fixed[bestFixed], g)}${cell(res.fixed[0], g)}${cell(res.oracle, g)}` +
      `<td>${((100 * res.disco.margin[g]) / res.oracle.margin[g]).toFixed(1)}%</td></tr>`);
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-top:16px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}</style></head><body>
${svg}
<p>Same shoppers, same offer points and the same uniform draws for every policy (common random numbers). Margin =
purchased &times; (price &times; (1 &minus; discount) &minus; cost), minus the merchant's shipping cost for free shipping.
Fixed = the best single fixed discount arm over the loop days (${esc(res.arms[bestFixed])}); oracle = the arm with the
highest true expected margin in each shopper's current state.</p>
<table><tr><th rowspan="2">day</th><th rowspan="2">offers</th><th colspan="4">disco</th><th colspan="4">fixed ${esc(res.arms[bestFixed])}</th>
<th colspan="4">no discount</th><th colspan="4">oracle</th><th rowspan="2">disco % of oracle</th></tr>
<tr>${'<th>margin</th><th>revenue</th><th>conversion</th><th>discount spend</th>'.repeat(4)}</tr>
${rows.join('\n')}
</table>
${retrains.length ? `<h3>Go-live gate at each retrain (disco-eval gate)</h3>
<table><tr><th>loop day</th><th>candidate</th><th>decision</th><th style="text-align:left">reason</th></tr>
${retrains.map((r) => `<tr><td>${r.day + 1}</td><td>${esc(r.version)}</td><td>${esc(r.decision)}</td><td style="text-align:left">${esc(r.reason)}</td></tr>`).join('\n')}
</table>` : ''}
${summary?.ab ? `<h3>A/B holdout (disco-eval ab)</h3><pre>${esc(JSON.stringify(summary.ab, null, 1).slice(0, 6000))}</pre>` : ''}
${summary ? `<pre>${esc(JSON.stringify({ last: summary.last, all: summary.all, fixed_all: summary.fixed_all, decisions: summary.decisions, exported_decisions: summary.exported_decisions, gate_decisions: summary.gate_decisions, policy_fit: summary.policy_fit }, null, 1))}</pre>` : ''}
</body></html>
`;
  return { svg, html };
}
