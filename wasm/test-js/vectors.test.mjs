// The shared decode vectors (tests/vectors/decode.json, decode_bytes.json) against every
// decoding path of the Node build: decode() on a string, bytes and an ArrayBuffer,
// decodeColumns(), and the streaming Decoder fed in random chunks.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  wasm,
  loadVectors,
  vectorInput,
  assertSameAsCli,
  expectedResult,
  rng,
  concatResults,
} from './helpers.mjs';

const TYPE_CODES = { c: 0, g: 1, ms: 2, h: 3, s: 4, d: 5, event: 6, service_check: 7 };
const catalog = wasm.catalog();
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function options(c) {
  return c.prefix === null ? undefined : { prefix: c.prefix };
}

function bytesOf(input) {
  return typeof input === 'string' ? new TextEncoder().encode(input) : new Uint8Array(input);
}

/** decodeColumns() must say the same as decode(), row by row. */
function assertColumnsMatch(cols, result, input, label) {
  const bytes = bytesOf(input);
  assert.equal(cols.count, result.metrics.length, `${label}: rows`);
  for (const arr of [cols.values, cols.sampleRates, cols.types, cols.flags, cols.catalogIds,
    cols.lines, cols.nameOffsets, cols.nameLengths]) {
    assert.equal(arr.length, cols.count);
  }
  assert.equal(cols.ascii, bytes.every((b) => b < 0x80));
  result.metrics.forEach((m, i) => {
    const at = `${label}: row ${i}`;
    assert.equal(cols.lines[i], m.line, at);
    assert.equal(cols.types[i], TYPE_CODES[m.type], at);
    const name = utf8.decode(bytes.subarray(cols.nameOffsets[i], cols.nameOffsets[i] + cols.nameLengths[i]));
    if (m.type === 'event') {
      assert.equal(name, m.title, at);
      assert.ok(Number.isNaN(cols.values[i]), at);
      return;
    }
    assert.equal(name, m.name, at);
    if (m.type === 'service_check') {
      assert.equal(cols.values[i], m.status, at);
      return;
    }
    if (typeof m.value === 'string') assert.ok(Number.isNaN(cols.values[i]), at);
    else assert.equal(cols.values[i], Number(m.value), at);
    if (m.sampleRate === null) assert.ok(Number.isNaN(cols.sampleRates[i]), at);
    else assert.equal(cols.sampleRates[i], m.sampleRate, at);
    assert.equal(cols.flags[i] & 1, m.delta ? 1 : 0, at);
    assert.equal(cols.flags[i] & 2, m.kindMismatch ? 2 : 0, at);
    const kind = m.type === 'c' ? 'counter' : 'gauge';
    const id = m.metric === null ? -1 : catalog.find((r) => r.name === m.metric && r.kind === kind).id;
    assert.equal(cols.catalogIds[i], id, at);
  });
  assert.equal(cols.errorCount, result.errors.length);
  assert.deepStrictEqual(cols.errors, result.errors, `${label}: errors`);
}

/** Feed `input` to a Decoder in random chunks (split anywhere, also inside UTF-8 sequences). */
function streamed(input, opts, random) {
  const bytes = bytesOf(input);
  const d = new wasm.Decoder(opts);
  const results = [];
  let pos = 0;
  while (pos < bytes.length) {
    const n = 1 + Math.floor(random() * 7);
    results.push(d.push(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  results.push(d.end());
  d.free();
  return concatResults(results);
}

for (const file of ['decode.json', 'decode_bytes.json']) {
  const cases = loadVectors(file);
  describe(file, () => {
    test('has cases with unique names', () => {
      assert.ok(cases.length > 0);
      assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
    });
    const random = rng(0x5eed);
    for (const c of cases) {
      test(c.name, () => {
        const input = vectorInput(c);
        const opts = options(c);
        const result = wasm.decode(input, opts);
        assertSameAsCli(assert, result, c.expect, c.name);

        // Every input form gives the same result.
        const bytes = bytesOf(input);
        assert.deepStrictEqual(wasm.decode(bytes, opts), result, 'Uint8Array input');
        assert.deepStrictEqual(wasm.decode(bytes.slice().buffer, opts), result, 'ArrayBuffer input');
        if (typeof input !== 'string') {
          // Bytes that are valid UTF-8 decode the same as the string they spell.
          const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);
          if (Buffer.from(text).equals(Buffer.from(bytes))) {
            assert.deepStrictEqual(wasm.decode(text, opts), result, 'string input');
          }
        }

        assertColumnsMatch(wasm.decodeColumns(input, opts), result, input, c.name);

        const s = streamed(input, opts, random);
        assert.deepStrictEqual(s, result, 'Decoder in chunks');
      });
    }
  });
}

test('expected results split like decode()', () => {
  const r = expectedResult([{ line: 1, column: 2, error: '*' }, { line: 2, sample_rate: null }]);
  assert.deepStrictEqual(r, { metrics: [{ line: 2, sampleRate: null }], errors: [{ line: 1, column: 2 }] });
});
