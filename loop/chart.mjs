// The loop's chart: margin per simulated day for disco, the best fixed discount, no discount and the
// oracle, as inline SVG (no script, no network), plus a self-contained HTML page around it.
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderChart(res, { bestFixed, retrainDays = [], title = 'disco loop', summary = null } = {}) {
  const H = res.history_days;
  const days = res.disco.margin.length - H;
  const series = [
    { name: 'oracle', color: '#7f7f7f', dash: '6 4', data: res.oracle.margin.slice(H) },
    { name: 'disco', color: '#d62728', width: 3, data: res.disco.margin.slice(H) },
    { name: `fixed ${res.arms[bestFixed]}`, color: '#1f77b4', data: res.fixed[bestFixed].margin.slice(H) },
    { name: 'no discount', color: '#2ca02c', data: res.fixed[0].margin.slice(H) },
  ];
  const W = 860, Ht = 420, L = 80, R = 170, T = 40, B = 50;
  const all = series.flatMap((s) => s.data);
  let lo = Math.min(0, ...all), hi = Math.max(...all);
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 8) ?? step * 10;
  lo = Math.floor(lo / nice) * nice;
  hi = Math.ceil(hi / nice) * nice;
  const x = (d) => L + (days <= 1 ? 0 : (d * (W - L - R)) / (days - 1));
  const y = (v) => T + ((hi - v) * (Ht - T - B)) / (hi - lo);
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Ht}" viewBox="0 0 ${W} ${Ht}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${Ht}" fill="#fff"/>`);
  parts.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let v = lo; v <= hi + 1e-9; v += nice) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`);
  }
  const every = Math.max(1, Math.ceil(days / 15));
  for (let d = 0; d < days; d += every) {
    parts.push(`<text x="${x(d).toFixed(1)}" y="${Ht - B + 18}" text-anchor="middle">${d + 1}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${Ht - 10}" text-anchor="middle">simulated day of the loop</text>`);
  parts.push(`<text transform="translate(18 ${(T + Ht - B) / 2}) rotate(-90)" text-anchor="middle">margin per day</text>`);
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${Ht - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${Ht - B}" y2="${Ht - B}" stroke="#333"/>`);
  for (const d of retrainDays) {
    // the retrain happens at the start of loop day d (0-based), i.e. between days d and d+1 (1-based)
    const xd = x(d - 0.5);
    parts.push(`<line x1="${xd.toFixed(1)}" x2="${xd.toFixed(1)}" y1="${T}" y2="${Ht - B}" stroke="#9467bd" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${(xd + 3).toFixed(1)}" y="${T + 12}" fill="#9467bd" font-size="11">retrain + swap</text>`);
  }
  series.forEach((s, i) => {
    const pts = s.data.map((v, d) => `${x(d).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts}"/>`);
    const ly = T + 16 + i * 20;
    parts.push(`<line x1="${W - R + 14}" x2="${W - R + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    parts.push(`<text x="${W - R + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  if (summary) {
    const ly = T + 16 + series.length * 20 + 10;
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
  for (let d = 0; d < days; d++) {
    const g = H + d;
    const c = res.disco;
    const conv = c.decisions[g] ? (100 * c.conversions[g]) / c.decisions[g] : 0;
    rows.push(`<tr><td>${d + 1}</td><td>${c.margin[g].toFixed(0)}</td><td>${res.fixed[bestFixed].margin[g].toFixed(0)}</td><td>${res.fixed[0].margin[g].toFixed(0)}</td>` +
      `<td>${res.oracle.margin[g].toFixed(0)}</td><td>${c.revenue[g].toFixed(0)}</td><td>${conv.toFixed(1)}%</td><td>${c.discount_spend[g].toFixed(0)}</td>` +
      `<td>${c.decisions[g].toFixed(0)}</td><td>${((100 * c.margin[g]) / res.oracle.margin[g]).toFixed(1)}%</td></tr>`);
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
<table><tr><th>day</th><th>disco</th><th>fixed ${esc(res.arms[bestFixed])}</th><th>no discount</th><th>oracle</th>
<th>disco revenue</th><th>disco conversion</th><th>disco discount spend</th><th>offers</th><th>disco % of oracle</th></tr>
${rows.join('\n')}
</table>
${summary ? `<pre>${esc(JSON.stringify({ last: summary.last, all: summary.all, retrains: summary.retrains, decisions: summary.decisions, joined_rows: summary.joined_rows }, null, 1))}</pre>` : ''}
</body></html>
`;
  return { svg, html };
}
