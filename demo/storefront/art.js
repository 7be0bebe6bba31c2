// Product artwork without images: an SVG tile per product, from its category colour and name.
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function hash(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

/** SVG markup for an item ({ id, name }) in a category with hue `hue`. */
export function productArt(item, hue, { big = false } = {}) {
  const h = hash(item.id);
  const h2 = (hue + 25 + (h % 40)) % 360;
  const words = item.name.split(' ');
  const noun = words.slice(2).join(' ') || item.name;
  const mono = noun.split(/[\s-]+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
  const shape = h % 3;
  const cx = 60 + ((h >>> 4) % 80);
  const cy = 40 + ((h >>> 9) % 60);
  const id = `g${item.id.replace(/[^a-zA-Z0-9]/g, '')}${big ? 'b' : ''}`;
  const deco = shape === 0
    ? `<circle cx="${cx}" cy="${cy}" r="${46 + (h % 20)}" fill="hsl(${h2} 80% 88% / .7)"/>`
    : shape === 1
      ? `<rect x="${cx - 40}" y="${cy - 30}" width="110" height="110" rx="28" transform="rotate(${(h >>> 3) % 40} ${cx} ${cy})" fill="hsl(${h2} 80% 88% / .7)"/>`
      : `<path d="M0 ${110 + (h % 30)} Q 100 ${60 + (h % 50)} 200 ${120 + (h % 20)} L200 150 L0 150Z" fill="hsl(${h2} 75% 86% / .8)"/>`;
  return `<svg class="art" viewBox="0 0 200 150" role="img" aria-label="${esc(item.name)}" preserveAspectRatio="xMidYMid slice">
    <defs><linearGradient id="${id}" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="hsl(${hue} 70% 95%)"/><stop offset="1" stop-color="hsl(${h2} 65% 82%)"/></linearGradient></defs>
    <rect width="200" height="150" fill="url(#${id})"/>${deco}
    <rect x="70" y="45" width="60" height="60" rx="16" fill="hsl(${hue} 55% 38%)" opacity=".92"/>
    <text x="100" y="84" text-anchor="middle" font-family="system-ui, sans-serif" font-size="24" font-weight="700" fill="#fff">${esc(mono)}</text>
  </svg>`;
}

export { esc };
