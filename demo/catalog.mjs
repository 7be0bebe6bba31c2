// The storefront's catalog: the simulator's items.csv (+ view counts from events.csv) as JSON, with
// readable, deterministic fake product and brand names per category. No dependencies.
import { createReadStream, readFileSync } from 'node:fs';
import { isMain, parseCli } from '../lib/cli.mjs';
import { CsvParser, csvLine, parseCsv } from '../lib/csv.mjs';

// label, nouns, hue (tile colour) per simulator category; unknown categories get a generic entry.
export const CATEGORIES = {
  appliances: ['Appliances', ['Blender', 'Toaster', 'Kettle', 'Air Fryer', 'Coffee Maker', 'Rice Cooker'], 200],
  audio: ['Audio', ['Headphones', 'Speaker', 'Earbuds', 'Soundbar', 'Turntable', 'Amplifier'], 265],
  automotive: ['Automotive', ['Car Charger', 'Dash Cam', 'Seat Cover', 'Tire Inflator', 'Floor Mats', 'Wiper Set'], 15],
  baby: ['Baby', ['Stroller Fan', 'Baby Monitor', 'Bottle Set', 'Play Mat', 'Swaddle', 'High Chair'], 330],
  bags: ['Bags', ['Backpack', 'Tote', 'Duffel', 'Messenger Bag', 'Crossbody Bag', 'Weekender'], 30],
  bath: ['Bath', ['Towel Set', 'Bath Mat', 'Shower Caddy', 'Robe', 'Soap Dispenser', 'Bath Tray'], 190],
  beauty: ['Beauty', ['Face Serum', 'Lip Balm', 'Hair Dryer', 'Makeup Brush Set', 'Night Cream', 'Perfume'], 320],
  bedding: ['Bedding', ['Duvet', 'Pillow', 'Sheet Set', 'Throw Blanket', 'Mattress Topper', 'Quilt'], 230],
  books: ['Books', ['Cookbook', 'Novel', 'Field Guide', 'Atlas', 'Poetry Collection', 'Sketchbook'], 40],
  cameras: ['Cameras', ['Mirrorless Camera', 'Lens', 'Tripod', 'Camera Strap', 'Action Cam', 'Flash'], 250],
  cleaning: ['Cleaning', ['Mop', 'Vacuum', 'Spray Bottle', 'Microfiber Cloths', 'Scrub Brush', 'Dustpan'], 170],
  computers: ['Computers', ['Laptop Stand', 'Keyboard', 'Mouse', 'Monitor', 'USB Hub', 'Webcam'], 215],
  crafts: ['Crafts', ['Yarn Pack', 'Paint Set', 'Glue Gun', 'Embroidery Kit', 'Clay Set', 'Cutting Mat'], 300],
  electronics: ['Electronics', ['Power Bank', 'Smart Plug', 'E-Reader', 'Charger', 'Cable Kit', 'Smart Display'], 205],
  'fashion-men': ["Men's Fashion", ['Oxford Shirt', 'Chinos', 'Wool Sweater', 'Rain Jacket', 'Belt', 'Polo'], 220],
  'fashion-women': ["Women's Fashion", ['Wrap Dress', 'Cardigan', 'Trench Coat', 'Silk Scarf', 'Jeans', 'Blouse'], 340],
  fitness: ['Fitness', ['Yoga Mat', 'Dumbbell Set', 'Jump Rope', 'Foam Roller', 'Kettlebell', 'Resistance Bands'], 145],
  furniture: ['Furniture', ['Armchair', 'Side Table', 'Bookshelf', 'Desk', 'Bench', 'Floor Lamp'], 28],
  games: ['Games', ['Board Game', 'Puzzle', 'Card Game', 'Game Controller', 'Chess Set', 'Dice Set'], 280],
  garden: ['Garden', ['Planter', 'Hose', 'Pruning Shears', 'Seed Kit', 'Watering Can', 'Garden Gloves'], 110],
  grocery: ['Grocery', ['Olive Oil', 'Coffee Beans', 'Green Tea', 'Granola', 'Hot Sauce', 'Dark Chocolate'], 45],
  health: ['Health', ['Thermometer', 'Vitamins', 'First Aid Kit', 'Massage Gun', 'Heating Pad', 'Scale'], 160],
  home: ['Home', ['Candle', 'Vase', 'Wall Clock', 'Picture Frame', 'Cushion', 'Rug'], 35],
  jewelry: ['Jewelry', ['Necklace', 'Ring', 'Bracelet', 'Earrings', 'Pendant', 'Anklet'], 50],
  kitchen: ['Kitchen', ["Chef's Knife", 'Skillet', 'Cutting Board', 'Mixing Bowls', 'Dutch Oven', 'Spice Rack'], 10],
  lighting: ['Lighting', ['Desk Lamp', 'String Lights', 'Pendant Light', 'Night Light', 'LED Strip', 'Lantern'], 55],
  movies: ['Movies', ['Blu-ray Box Set', 'Documentary', 'Film Classic', 'Animated Feature', 'Thriller', 'Series Box'], 0],
  music: ['Music', ['Vinyl Record', 'Ukulele', 'Guitar Strings', 'Keyboard Stand', 'Metronome', 'Harmonica'], 275],
  office: ['Office', ['Notebook', 'Desk Organizer', 'Stapler', 'Planner', 'Monitor Riser', 'Pen Set'], 210],
  outdoor: ['Outdoor', ['Tent', 'Sleeping Bag', 'Camp Stove', 'Headlamp', 'Hiking Poles', 'Cooler'], 120],
  party: ['Party', ['Balloon Kit', 'Party Lights', 'Banner', 'Cake Stand', 'Confetti', 'Photo Props'], 310],
  pet: ['Pet', ['Dog Bed', 'Cat Tree', 'Leash', 'Pet Bowl', 'Chew Toy', 'Grooming Brush'], 25],
  phones: ['Phones', ['Phone Case', 'Screen Protector', 'Wireless Charger', 'Phone Grip', 'Car Mount', 'Smartphone'], 235],
  shoes: ['Shoes', ['Sneakers', 'Boots', 'Loafers', 'Sandals', 'Running Shoes', 'Slippers'], 20],
  sports: ['Sports', ['Football', 'Tennis Racket', 'Bike Helmet', 'Water Bottle', 'Goalkeeper Gloves', 'Swim Goggles'], 135],
  stationery: ['Stationery', ['Fountain Pen', 'Washi Tape', 'Letter Set', 'Sticky Notes', 'Journal', 'Markers'], 290],
  tools: ['Tools', ['Cordless Drill', 'Tool Kit', 'Tape Measure', 'Level', 'Screwdriver Set', 'Work Light'], 38],
  toys: ['Toys', ['Building Blocks', 'Plush Bear', 'Toy Train', 'Kite', 'Puzzle Cube', 'Race Car'], 350],
  travel: ['Travel', ['Carry-on', 'Packing Cubes', 'Neck Pillow', 'Travel Adapter', 'Luggage Tag', 'Passport Wallet'], 185],
  watches: ['Watches', ['Field Watch', 'Smartwatch', 'Dive Watch', 'Watch Strap', 'Chronograph', 'Dress Watch'], 45],
};
const ADJECTIVES = ['Classic', 'Compact', 'Everyday', 'Pro', 'Studio', 'Nordic', 'Urban', 'Essential', 'Premium',
  'Lite', 'Signature', 'Heritage', 'Modern', 'Travel', 'Eco', 'Deluxe', 'Mini', 'Max', 'Soft', 'Bold'];
const SYL_A = ['Lu', 'No', 'Ka', 'Ve', 'Ar', 'Zen', 'Mo', 'Pi', 'Ta', 'Ori', 'Sol', 'Bri', 'Fa', 'Hal', 'Ki', 'Ro'];
const SYL_B = ['mora', 'vik', 'lto', 'rin', 'dex', 'lux', 'nova', 'sen', 'ra', 'bel', 'quist', 'tane', 'mi', 'do', 'ven', 'ka'];

/** FNV-1a 32 of a string: stable per item id, so a name never changes between runs. */
export function hash32(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}
export function brandName(brand) {
  const h = hash32(`brand:${brand}`);
  return SYL_A[h % SYL_A.length] + SYL_B[(h >>> 8) % SYL_B.length];
}
export function productName(itemId, category, brand) {
  const nouns = (CATEGORIES[category] ?? [null, ['Item', 'Set', 'Kit', 'Pack']])[1];
  const h = hash32(`item:${itemId}`);
  return `${brandName(brand)} ${ADJECTIVES[h % ADJECTIVES.length]} ${nouns[(h >>> 8) % nouns.length]}`;
}

/** The valid, first-seen rows of DIR/items.csv: { byId, skipped: { malformed, duplicate } }. */
export function readItems(dir) {
  const file = `${dir}/items.csv`;
  // the simulator writes unquoted CSV; quoted fields (logs from elsewhere) read as the C++ reader reads them
  const [head = [], ...rows] = parseCsv(readFileSync(file, 'utf8'), file);
  const header = head.join(',').trim();
  if (!header.startsWith('item_id,category,brand,price,cost,in_stock')) {
    throw new Error(`${dir}/items.csv:1: expected header item_id,category,brand,price,cost,in_stock, got "${header}"`);
  }
  const byId = new Map();
  const skipped = { malformed: 0, duplicate: 0 };
  for (const f of rows) {
    const price = Number(f[3]); const cost = Number(f[4]);
    if (f.length < 6 || !f[0] || !f[1] || !/^[0-9.]+$/.test(f[3]) || !Number.isFinite(price) || price <= 0
        || !Number.isFinite(cost) || cost < 0 || !/^[a-z0-9-]+$/.test(f[1]) || f[1] === 'category' || /[,"]/.test(f[0])) {
      skipped.malformed++; continue;
    }
    if (byId.has(f[0])) { skipped.duplicate++; continue; }
    byId.set(f[0], { id: f[0], category: f[1], brand: f[2], price, cost, inStock: f[5].trim() !== '0', views: 0, raw: csvLine(f.slice(0, 6)) });
  }
  return { byId, skipped };
}

/**
 * Reads DIR/items.csv (and DIR/events.csv for view counts, when present). Rows that are not a
 * valid item (the simulator injects a few dirty rows on purpose) are counted and skipped.
 * Returns { categories, items, skipped }.
 */
export async function buildCatalog(dir) {
  const { byId, skipped } = readItems(dir);
  try {
    const file = `${dir}/events.csv`;
    const csv = new CsvParser(file);
    let col = -1; let typeCol = -1;
    const count = (records) => {
      for (const f of records) {
        if (col < 0) { col = f.indexOf('item_id'); typeCol = f.indexOf('type'); continue; }
        if (f[typeCol] !== 'view') continue;
        const it = byId.get(f[col]);
        if (it) it.views++;
      }
    };
    for await (const chunk of createReadStream(file, 'utf8')) count(csv.push(chunk));
    count(csv.end());
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const catNames = [...new Set([...byId.values()].map((i) => i.category))].sort();
  const catIndex = new Map(catNames.map((c, i) => [c, i]));
  const categories = catNames.map((c) => {
    const meta = CATEGORIES[c];
    return { id: c, label: meta ? meta[0] : c.replace(/(^|-)([a-z])/g, (_, s, x) => (s ? ' ' : '') + x.toUpperCase()), hue: meta ? meta[2] : hash32(c) % 360 };
  });
  const items = [...byId.values()].map((i) => ({
    id: i.id, name: productName(i.id, i.category, i.brand), brand: brandName(i.brand), c: catIndex.get(i.category),
    price: i.price, cost: i.cost, stock: i.inStock ? 1 : 0, views: i.views,
  }));
  return { categories, items, skipped };
}

// CLI: node demo/catalog.mjs --clean-items DATA_DIR OUT.csv  (the valid rows only, for fixture bundles)
if (isMain(import.meta.url)) {
  const usage = 'usage: node demo/catalog.mjs --clean-items DATA_DIR OUT.csv';
  const { values, positionals } = parseCli({ name: 'catalog', usage, options: { 'clean-items': { type: 'boolean' } }, allowPositionals: true, positionals: [2, 2] });
  if (!values['clean-items']) { console.error(`catalog: --clean-items is the only command\n${usage}`); process.exit(2); }
  const [dir, out] = positionals;
  const { byId, skipped } = readItems(dir);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(out, `item_id,category,brand,price,cost,in_stock\n${[...byId.values()].map((i) => i.raw).join('\n')}\n`);
  console.log(`${out}: ${byId.size} items (skipped ${skipped.malformed} malformed, ${skipped.duplicate} duplicate)`);
}
