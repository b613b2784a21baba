// ColumnDecoder: the same rows as decodeColumns(), in reused views on wasm memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { wasm, wasmDir, COLUMN_KEYS } from './helpers.mjs';


function same(got, want) {
  assert.equal(got.count, want.count);
  assert.equal(got.ascii, want.ascii);
  assert.equal(got.errorCount, want.errorCount);
  assert.deepStrictEqual(got.errors, want.errors);
  for (const k of COLUMN_KEYS) {
    assert.ok(got[k].length >= got.count, k);
    assert.deepStrictEqual([...got[k].subarray(0, got.count)], [...want[k]], k);
  }
}

test('ColumnDecoder.decode equals decodeColumns, across calls and growth', () => {
  const d = new wasm.ColumnDecoder();
  const p = new wasm.ColumnDecoder({ prefix: 'ros' });
  const inputs = [
    'realm.h.connection.online:-3|g\nbad\nx:1.5|ms|@0.25\n_e{1,1}:t|x\n_sc|n|3\nu:a|s\nrealm.h.realms.open:1|c',
    '',
    'a:1|c',
    'k:1:2:3:4:5:6:7:8:9|d\n'.repeat(500),
    'ros.connection.online:5|g\ncafé:1|c\n\xff',
    new TextEncoder().encode('a:1|c\nb:2|g|#x:y\r\n'),
    'a:1|c\n'.repeat(3000),
    'realm.w.protocol.7.used:1|c',
  ];
  for (let round = 0; round < 2; round++) {
    for (const input of inputs) {
      // The reference first: another call may grow memory, which detaches the views.
      const want = wasm.decodeColumns(input);
      same(d.decode(input), want);
      const wantP = wasm.decodeColumns(input, { prefix: 'ros' });
      same(p.decode(input), wantP);
    }
  }
  // Views are reused while the buffer does not move.
  const a = d.decode('a:1|c');
  const b = d.decode('b:2|c');
  assert.equal(a.values, b.values);
  assert.equal(b.values[0], 2);
  assert.throws(() => d.decode(42), /ColumnDecoder.decode: input must be/);
  assert.throws(() => new wasm.ColumnDecoder({ prefix: 1 }), /options.prefix must be a string/);
  d.free();
  p.free();
});

test('views keep their decoder alive: a dropped decoder is not freed under them', () => {
  // In a child with gc() exposed: the only reference left to the decoder is through its views.
  // Before, the FinalizationRegistry freed its memory, new decoders reused it, and the views read
  // their rows.
  const script = `
    const w = require(${JSON.stringify(wasmDir)});
    w.decode('x:1|c\\n'.repeat(200000)); // grow the memory first: no later call detaches views
    const r = new w.ColumnDecoder().decode('a:1|c\\nb:2|c\\nc:3|c');
    const keep = [r.values];
    (async () => {
      for (let i = 0; i < 6; i++) { gc(); await new Promise((res) => setTimeout(res, 10)); }
      const others = [];
      for (let i = 0; i < 50; i++) { const d = new w.ColumnDecoder(); d.decode('z:9|g\\n'.repeat(60)); others.push(d); }
      process.stdout.write(JSON.stringify({ values: [...keep[0].subarray(0, 3)], lines: [...r.lines.subarray(0, 3)] }));
    })();`;
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  assert.deepStrictEqual(JSON.parse(out), { values: [1, 2, 3], lines: [1, 2, 3] });
});

test('the result arrays are laid out as the generated layout says (js/layout.js)', () => {
  const r = wasm.decodeColumns('a:1|c\nb:2|g\n_sc|x|1', { transferable: true });
  const base = r.values.byteOffset;
  assert.equal(r.values.buffer.byteLength, wasm.COLUMNS.reduce((n, [, , , size]) => n + size * r.count, 0));
  for (const [name, Type, off] of wasm.COLUMNS) {
    assert.ok(r[name] instanceof Type, name);
    assert.equal(r[name].byteOffset - base, off * r.count, name);
    assert.equal(r[name].length, r.count, name);
  }
  assert.deepStrictEqual([...r.types], [wasm.TYPE_CODE.c, wasm.TYPE_CODE.g, wasm.TYPE_CODE.serviceCheck]);
});
