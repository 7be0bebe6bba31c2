// The one CSV reader of the repository's JavaScript (loop/, demo/, tests/; lib/README.md says why it
// lives here and not in the SDK). The same format as the C++ side: the reader
// trainer/data/include/disco/data/csv.h (CsvReader, delimited mode) and its writer csv_field.
//
//   - fields are separated by ','; a field that STARTS with '"' is quoted and may hold ',', CR, LF
//     and doubled quotes ("" -> "); a quote inside an unquoted field is an ordinary character;
//   - records end at LF, CRLF or a lone CR; a last record without a terminator counts too;
//   - a UTF-8 byte-order mark at the start is skipped; empty lines are skipped (a line holding only
//     "" is a record with one empty field);
//   - a quote opened and never closed, or a character other than ',' or a line end after a closing
//     quote, throws Error("NAME:LINE: reason"), as the C++ reader does.
//
// No imports (not even node:*): strings in, arrays of strings out, so any runtime can use it. Node
// callers read the file themselves (fs.readFileSync(f, 'utf8'), or chunks of a stream into
// CsvParser).

const Q = 34; // '"'

/** One field as the C++ writer csv_field writes it: quoted (doubled quotes inside) when it holds ',', '"', CR or LF. */
export function csvField(v) {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One record as the C++ writer writes it (fields joined by ','; no line terminator). */
export function csvLine(fields) {
  return fields.map(csvField).join(',');
}

const show = (c) => (c >= ' ' && c < '\x7f' ? c : `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

// Parses the record starting at text[i]. Returns [fields, next, empty] (empty: a blank line, to be
// skipped), or null when the record may continue past the end of `text` and `final` is false.
// `fail(pos, reason)` throws with the line of `pos`.
function record(text, i, final, fail) {
  const nl = text.indexOf('\n', i);
  if (nl < 0 && !final) return null;
  const end = nl < 0 ? text.length : nl;
  // Fast path: a line without quotes (what the simulator, the trainer and the collector write).
  const line = text.slice(i, end);
  if (!line.includes('"')) {
    const cr = line.indexOf('\r');
    if (cr < 0) return [line.split(','), nl < 0 ? end : end + 1, end === i];
    // CRLF, or a lone CR ending the record early
    return [line.slice(0, cr).split(','), i + cr + 1 === nl ? nl + 1 : i + cr + 1, cr === 0];
  }
  const fields = [];
  let p = i;
  let quoted = false;
  for (;;) {
    if (text.charCodeAt(p) === Q) {
      quoted = true;
      const open = p;
      let v = '';
      p++;
      for (;;) {
        const q = text.indexOf('"', p);
        if (q < 0) {
          if (!final) return null;
          fail(open, 'unterminated quoted field (the quote is never closed before the end of the input)');
        }
        v += text.slice(p, q);
        if (q + 1 >= text.length && !final) return null; // the next character may be a second quote
        if (text.charCodeAt(q + 1) === Q) { v += '"'; p = q + 2; continue; }
        p = q + 1;
        break;
      }
      fields.push(v);
      if (p >= text.length) return final ? [fields, p, false] : null;
      const c = text[p];
      if (c === ',') { p++; continue; }
      if (c === '\n') return [fields, p + 1, false];
      if (c === '\r') {
        if (p + 1 >= text.length && !final) return null;
        return [fields, text[p + 1] === '\n' ? p + 2 : p + 1, false];
      }
      fail(p, `unexpected character '${show(c)}' after a closing quote (a quote inside a quoted field must be doubled)`);
    }
    let q = p;
    for (; q < text.length; q++) {
      const c = text.charCodeAt(q);
      if (c === 44 || c === 10 || c === 13) break; // ',' LF CR
    }
    fields.push(text.slice(p, q));
    if (q >= text.length) return final ? [fields, q, !quoted && fields.length === 1 && q === p] : null;
    const c = text[q];
    if (c === ',') { p = q + 1; continue; }
    const empty = !quoted && fields.length === 1 && q === p;
    if (c === '\n') return [fields, q + 1, empty];
    if (q + 1 >= text.length && !final) return null; // CR: maybe CRLF
    return [fields, text[q + 1] === '\n' ? q + 2 : q + 1, empty];
  }
}

function lineAt(text, pos, base) {
  let n = base;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The records of a whole CSV text, one array of strings each, the header included. `name` is used
 * in error messages ("NAME:LINE: reason").
 * @returns {Generator<string[]>}
 */
export function* csvRecords(text, name = 'csv') {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (pos, reason) => { throw new Error(`${name}:${lineAt(text, pos, 1)}: ${reason}`); };
  while (i < text.length) {
    const [fields, next, empty] = record(text, i, true, fail);
    i = next;
    if (!empty) yield fields;
  }
}

/** Every record of a CSV text (the header included) as arrays of strings. */
export function parseCsv(text, name = 'csv') {
  return [...csvRecords(text, name)];
}

/** { name: index } of a header record. */
export function csvColumns(header) {
  return Object.fromEntries(header.map((h, i) => [h, i]));
}

/**
 * A CSV text with a header: { header, col: { name: index }, rows } (rows without the header).
 * Use it as `for (const f of rows) f[col.item_id]`.
 */
export function csvTable(text, name = 'csv') {
  const [header = [], ...rows] = parseCsv(text, name);
  return { header, col: csvColumns(header), rows };
}

/**
 * The same as csvTable, with `rows` an iterator read once, record by record (no array of every row:
 * for large files). `for (const f of csvRows(text).rows) ...`
 */
export function csvRows(text, name = 'csv') {
  const it = csvRecords(text, name);
  const header = it.next().value ?? [];
  return { header, col: csvColumns(header), rows: it };
}

/** A CSV text with a header as objects keyed by the header's names (missing fields are undefined). */
export function csvObjects(text, name = 'csv') {
  const { header, rows } = csvTable(text, name);
  return rows.map((f) => Object.fromEntries(header.map((h, i) => [h, f[i]])));
}

/**
 * The incremental form of the same reader, for files read in chunks (a stream):
 *   const p = new CsvParser(file);
 *   for await (const chunk of fs.createReadStream(file, 'utf8')) for (const f of p.push(chunk)) ...;
 *   for (const f of p.end()) ...;
 * push() returns the records completed by the chunk; end() the rest (it throws on an open quote).
 */
export class CsvParser {
  constructor(name = 'csv') {
    this.name = name;
    this.rest = '';
    this.line = 1;     // line number of the first character of `rest`
    this.started = false;
  }

  push(chunk) { return this.#take(chunk, false); }

  end() { return this.#take('', true); }

  #take(chunk, final) {
    let text = this.rest + chunk;
    if (!this.started && text.length) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const fail = (pos, reason) => { throw new Error(`${this.name}:${lineAt(text, pos, this.line)}: ${reason}`); };
    const out = [];
    let i = 0;
    while (i < text.length) {
      const r = record(text, i, final, fail);
      if (!r) break;
      i = r[1];
      if (!r[2]) out.push(r[0]);
    }
    this.line = lineAt(text, i, this.line);
    this.rest = text.slice(i);
    return out;
  }
}
