// lib/csv.mjs: the JavaScript CSV reader reads what the C++ writer (csv_field) writes and follows the
// C++ reader's rules (trainer/data/include/disco/data/csv.h): quoted fields with embedded commas,
// quotes and newlines, CRLF and lone CR, empty fields, empty lines, BOM, errors with the line.
import test from 'node:test';
import assert from 'node:assert/strict';
import { CsvParser, csvField, csvLine, csvObjects, csvRecords, csvRows, csvTable, parseCsv } from '../../lib/csv.mjs';

test('unquoted records, empty fields, a last record without a line end', () => {
  assert.deepEqual(parseCsv('a,b,c\n1,,3\n,,\nx'), [['a', 'b', 'c'], ['1', '', '3'], ['', '', ''], ['x']]);
  assert.deepEqual(parseCsv('a,b,\n'), [['a', 'b', '']]);
  assert.deepEqual(parseCsv(''), []);
});

test('quoted fields: embedded commas, doubled quotes, newlines, an empty quoted field', () => {
  const text = 'id,note\n1,"a, b"\n2,"say ""hi"""\n3,"line 1\nline 2\r\nline 3"\n4,""\n"5",x\n';
  assert.deepEqual(parseCsv(text), [['id', 'note'], ['1', 'a, b'], ['2', 'say "hi"'], ['3', 'line 1\nline 2\r\nline 3'], ['4', ''], ['5', 'x']]);
});

test('a quote inside an unquoted field is an ordinary character (as the C++ reader reads it)', () => {
  assert.deepEqual(parseCsv('a"b,c\n'), [['a"b', 'c']]);
});

test('CRLF and lone CR end records; empty lines are skipped, a line holding "" is kept', () => {
  assert.deepEqual(parseCsv('a,b\r\n1,2\r\n\r\n3,4\r5,6\r\n'), [['a', 'b'], ['1', '2'], ['3', '4'], ['5', '6']]);
  assert.deepEqual(parseCsv('a\n\n\n""\n\r\nb'), [['a'], [''], ['b']]);
  assert.deepEqual(parseCsv('"x",y\r\n"z"\r'), [['x', 'y'], ['z']]);
  assert.deepEqual(parseCsv('a,"b"\r'), [['a', 'b']]);
});

test('a UTF-8 byte-order mark at the start is skipped', () => {
  assert.deepEqual(csvTable('\ufeffitem_id,price\ni1,2\n').col, { item_id: 0, price: 1 });
});

test('errors name the input and the line, as the C++ reader does', () => {
  assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n', 'f.csv'), /^Error: f\.csv:2: unterminated quoted field/);
  assert.throws(() => parseCsv('a\n"x"y\n', 'f.csv'), /^Error: f\.csv:2: unexpected character 'y' after a closing quote/);
  assert.throws(() => parseCsv('"a\nb"\t\n', 'g'), /^Error: g:2: unexpected character '\\x09' after a closing quote/);
});

test('reads back what csvField (= C++ csv_field) writes, for awkward values', () => {
  const values = ['plain', '', 'a,b', 'say "hi"', '"', '""', 'x\ny', 'x\r\ny', '\r', ',', ' lead', 'trail ', 'a"b', 'é ü 💡'];
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('a"b'), '"a""b"');
  assert.equal(csvField('x\ny'), '"x\ny"');
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField(3.5), '3.5');
  const rows = [values, values.slice().reverse(), ['only']];
  const text = rows.map(csvLine).join('\n') + '\n';
  assert.deepEqual(parseCsv(text), rows);
  assert.deepEqual(parseCsv(rows.map(csvLine).join('\r\n')), rows);
});

test('csvTable and csvObjects key rows by the header', () => {
  const text = 'decision_id,reason,arm\nd1,"hold: a, b",2\nd2,,0\n';
  const t = csvTable(text);
  assert.deepEqual(t.col, { decision_id: 0, reason: 1, arm: 2 });
  assert.equal(t.rows.length, 2);
  assert.deepEqual(csvObjects(text), [{ decision_id: 'd1', reason: 'hold: a, b', arm: '2' }, { decision_id: 'd2', reason: '', arm: '0' }]);
  assert.deepEqual(csvObjects('a,b\n1\n'), [{ a: '1', b: undefined }]);
  assert.deepEqual(csvTable(''), { header: [], col: {}, rows: [] });
});

test('CsvParser: any split into chunks gives the records of the whole text', () => {
  const text = '\ufeffid,note\r\n1,"a, b"\r\n2,"say ""hi"""\n3,"x\r\ny"\r\r\n4,\r5,"""q"""\n\n6,last';
  const whole = [...csvRecords(text)];
  assert.equal(whole.length, 7);
  for (let size = 1; size <= text.length; size++) {
    const p = new CsvParser('chunked');
    const got = [];
    for (let i = 0; i < text.length; i += size) got.push(...p.push(text.slice(i, i + size)));
    got.push(...p.end());
    assert.deepEqual(got, whole, `chunks of ${size}`);
  }
});

test('CsvParser: errors carry the line across chunks', () => {
  const p = new CsvParser('s.csv');
  p.push('a\nb\n');
  p.push('c\n"d');
  assert.throws(() => p.end(), /^Error: s\.csv:4: unterminated quoted field/);
  const q = new CsvParser('t.csv');
  assert.throws(() => { q.push('a\nb\n'); q.push('"c"d\n'); }, /^Error: t\.csv:3: unexpected character 'd'/);
});

test('csvRows: the header, then the rows one by one', () => {
  const { header, col, rows } = csvRows('a,b\n1,"x,y"\n\n2,z\n');
  assert.deepEqual(header, ['a', 'b']);
  assert.deepEqual(col, { a: 0, b: 1 });
  assert.deepEqual([...rows], [['1', 'x,y'], ['2', 'z']]);
  assert.deepEqual([...csvRows('').rows], []);
});
