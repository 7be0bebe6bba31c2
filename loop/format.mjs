// Number formatting of the loop's log lines and per-day table.
export const fmt = (x, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
export const pad = (s, n) => String(s).padStart(n);
