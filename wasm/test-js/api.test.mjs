// The JS API of the Node build: shapes and types, argument errors, the streaming Decoder, the
// catalog, and hostile input (invalid UTF-8, NUL, 10 MB of garbage, a 1 MB line).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { wasm, wasmDir, rng, concatResults, cliBinary, parseJsonBig, COLUMN_KEYS } from './helpers.mjs';

const enc = new TextEncoder();

describe('decode()', () => {
  test('gives the CLI fields in camelCase', () => {
    const r = wasm.decode('realm.worker-3.connection.online:42|g\nrealm.w.protocol.7.used:1|c|@0.5|#env:prod,bare');
    assert.deepStrictEqual(r.errors, []);
    assert.deepStrictEqual(r.metrics[0], {
      line: 1, name: 'realm.worker-3.connection.online', type: 'g', value: 42, delta: false,
      sampleRate: null, tags: {}, timestamp: null, metric: 'connection.online', host: 'worker-3',
      version: null,
    });
    assert.deepStrictEqual(r.metrics[1], {
      line: 2, name: 'realm.w.protocol.7.used', type: 'c', value: 1, delta: false, sampleRate: 0.5,
      tags: { env: 'prod', bare: null }, timestamp: null, metric: 'protocol.<version>.used',
      host: 'w', version: 7,
    });
  });

  test('optional keys appear only when they apply', () => {
    const [v] = wasm.decode('realm.h.connection.online:1|c|c:abc|xfoo|T17').metrics;
    assert.equal(v.kindMismatch, true);
    assert.equal(v.container, 'abc');
    assert.deepStrictEqual(v.extensions, ['xfoo']);
    assert.equal(v.timestamp, 17);
    const [w] = wasm.decode('a:1|c').metrics;
    for (const k of ['kindMismatch', 'container', 'extensions']) assert.ok(!(k in w), k);
  });

  test('honours options.prefix', () => {
    const [v] = wasm.decode('my.app.connection.online:1|g', { prefix: 'my.app' }).metrics;
    assert.equal(v.metric, 'connection.online');
    assert.equal(v.host, null);
    assert.equal(wasm.decode('my.app.connection.online:1|g').metrics[0].metric, null);
  });

  test('integers beyond 2^53 are exact BigInts; others are numbers', () => {
    const r = wasm.decode('a:18446744073709551615|c\nb:-9223372036854775808|g\nc:9007199254740991|c\nd:9007199254740992|c\ne:1|c|T18446744073709551615\nrealm.h.protocol.99999999999999999999.used:1|c');
    const v = r.metrics.map((m) => m.value);
    assert.deepStrictEqual(v.slice(0, 4), [18446744073709551615n, -9223372036854775808n, 9007199254740991, 9007199254740992n]);
    assert.equal(r.metrics[4].timestamp, 18446744073709551615n);
    // A version beyond u64 is no protocol version: the name is not a catalog name.
    assert.equal(r.metrics[5].metric, null);
    assert.equal(wasm.decode('realm.h.protocol.18446744073709551615.used:1|c').metrics[0].version, 18446744073709551615n);
  });

  test('events and service checks', () => {
    const r = wasm.decode('_e{5,4}:title|text|d:12|h:host|k:key|p:low|s:src|t:error|#a:b\n_sc|db|2|d:5|h:x|#c|m:it | broke');
    assert.deepStrictEqual(r.metrics, [
      { line: 1, type: 'event', title: 'title', text: 'text', timestamp: 12, hostname: 'host',
        aggregationKey: 'key', priority: 'low', sourceTypeName: 'src', alertType: 'error', tags: { a: 'b' } },
      { line: 2, type: 'service_check', name: 'db', status: 2, timestamp: 5, hostname: 'x',
        tags: { c: null }, message: 'it | broke' },
    ]);
  });

  test('errors carry line, column and message; other lines still decode', () => {
    const r = wasm.decode('a:1|c\nbad line\n\na:1|zz\nb:2|c');
    assert.deepStrictEqual(r.metrics.map((m) => [m.line, m.name]), [[1, 'a'], [5, 'b']]);
    assert.deepStrictEqual(r.errors, [
      { line: 2, column: 9, message: "expected ':' after the metric name at end of line" },
      { line: 4, column: 5, message: "unknown metric type (expected c, g, ms, h, s or d) at 'z'" },
    ]);
  });

  test('a tag named __proto__ is an ordinary key', () => {
    const [v] = wasm.decode('a:1|c|#__proto__:x,y:z').metrics;
    assert.deepStrictEqual(Object.keys(v.tags), ['__proto__', 'y']);
    assert.equal(Object.getPrototypeOf(v.tags), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(v.tags, '__proto__').value, 'x');
  });

  test('non-ASCII names and tags are sliced at the right places', () => {
    const input = 'café.ü😀:1|c|#ключ:значение,😀\n\u{feff}b:2|g\nz:3|s';
    for (const form of [input, enc.encode(input)]) {
      const r = wasm.decode(form);
      assert.deepStrictEqual(r.metrics.map((m) => [m.name, m.value, m.tags]), [
        ['café.ü😀', 1, { 'ключ': 'значение', '😀': null }],
        ['\u{feff}b', 2, {}],
        ['z', '3', {}],
      ]);
    }
  });

  test('a lone surrogate in a string decodes as U+FFFD, as its UTF-8 does', () => {
    const r = wasm.decode('a\ud800b:1|c\nc:2|c');
    assert.deepStrictEqual(r.metrics.map((m) => m.name), ['a\ufffdb', 'c']);
  });

  test('wrong argument types throw an Error', () => {
    const calls = [
      () => wasm.decode(42),
      () => wasm.decode(null),
      () => wasm.decode(undefined),
      () => wasm.decode({}),
      () => wasm.decode([1, 2]),
      () => wasm.decode('a:1|c', 42),
      () => wasm.decode('a:1|c', 'prefix'),
      () => wasm.decode('a:1|c', { prefix: 5 }),
      () => wasm.decodeColumns(42),
      () => wasm.decodeColumns('a:1|c', { prefix: {} }),
      () => wasm.decodeColumns('a:1|c', { transferable: 1 }),
      () => wasm.decodeColumns('a:1|c', { transferable: 'yes' }),
      () => new wasm.Decoder({ maxLineBytes: 0 }),
      () => new wasm.Decoder({ maxLineBytes: 1.5 }),
      () => new wasm.Decoder({ maxLineBytes: '5' }),
      () => new wasm.Decoder({ prefix: 1 }),
      () => new wasm.Decoder().push(42),
    ];
    for (const call of calls) {
      assert.throws(call, (e) => e instanceof Error && /must be|cannot/.test(e.message), String(call));
    }
    // The module still works afterwards.
    assert.equal(wasm.decode('a:1|c').metrics.length, 1);
    assert.deepStrictEqual(wasm.decode('a:1|c', null), wasm.decode('a:1|c'));
    assert.deepStrictEqual(wasm.decode('a:1|c', {}), wasm.decode('a:1|c'));
  });
});

describe('decodeColumns()', () => {
  test('fills typed arrays', () => {
    const c = wasm.decodeColumns('realm.h.connection.online:-3|g\nbad\nx:1.5|ms|@0.25\n_e{1,1}:t|x\n_sc|n|3\nu:a|s\nrealm.h.realms.open:1|c');
    assert.equal(c.count, 6);
    assert.ok(c.values instanceof Float64Array);
    assert.ok(c.sampleRates instanceof Float64Array);
    assert.ok(c.types instanceof Uint8Array);
    assert.ok(c.flags instanceof Uint8Array);
    assert.ok(c.catalogIds instanceof Int32Array);
    assert.ok(c.lines instanceof Uint32Array);
    assert.ok(c.nameOffsets instanceof Uint32Array);
    assert.ok(c.nameLengths instanceof Uint32Array);
    assert.deepStrictEqual([...c.values], [-3, 1.5, NaN, 3, NaN, 1]);
    assert.deepStrictEqual([...c.sampleRates], [NaN, 0.25, NaN, NaN, NaN, NaN]);
    assert.deepStrictEqual([...c.types], [1, 2, 6, 7, 4, 0]);
    assert.deepStrictEqual([...c.flags], [1, 0, 0, 0, 0, 2]);
    assert.deepStrictEqual([...c.catalogIds], [6, -1, -1, -1, -1, -1]);
    assert.deepStrictEqual([...c.lines], [1, 3, 4, 5, 6, 7]);
    assert.deepStrictEqual([...c.nameOffsets], [0, 35, 58, 66, 70, 76]);
    assert.deepStrictEqual([...c.nameLengths], [25, 1, 1, 1, 1, 19]);
    assert.equal(c.ascii, true);
    assert.equal(c.errorCount, 1);
    assert.deepStrictEqual(c.errors, [{ line: 2, column: 4, message: "expected ':' after the metric name at end of line" }]);
  });

  test('results do not share memory between calls', () => {
    const a = wasm.decodeColumns('a:1|c');
    const b = wasm.decodeColumns('b:2|c\nc:3|c');
    b.values.fill(7);
    b.lines.fill(7);
    assert.equal(a.values[0], 1);
    assert.equal(a.lines[0], 1);
    // Views never overlap, within a result or across results.
    const ranges = [a, b].flatMap((r) => COLUMN_KEYS
      .map((k) => [r[k].buffer, r[k].byteOffset, r[k].byteOffset + r[k].byteLength]));
    for (const [i, x] of ranges.entries()) {
      for (const y of ranges.slice(i + 1)) assert.ok(x[0] !== y[0] || x[2] <= y[1] || y[2] <= x[1]);
    }
    // A large result has a buffer of its own.
    const big = wasm.decodeColumns('a:1|c\n'.repeat(2000));
    assert.equal(big.values.buffer.byteLength, 34 * 2000);
  });
});

describe('decodeColumns() results and other threads', () => {
  const packet = 'realm.w1.connection.online:12|g\nrealm.w2.session.started:3|c|@0.5\nx:1.5|ms';

  test('transferring a pooled buffer away leaves decodeColumns() working', () => {
    const a = wasm.decodeColumns('a:1|c');
    const b = wasm.decodeColumns('b:2|c');
    assert.equal(a.values.buffer, b.values.buffer, 'small results share a pool');
    const moved = structuredClone(a, { transfer: [a.values.buffer] });
    assert.deepStrictEqual([...moved.values], [1]);
    // The pool went with it: b, which shared it, is detached too (the README says so).
    assert.equal(b.values.length, 0);
    // The next results come from a new pool.
    for (let k = 0; k < 3; k++) {
      const c = wasm.decodeColumns(packet);
      assert.deepStrictEqual([...c.values], [12, 3, 1.5]);
      assert.deepStrictEqual([...c.lines], [1, 2, 3]);
      assert.notEqual(c.values.buffer.byteLength, 0);
    }
  });

  test('transferable: one ArrayBuffer of its own, with exactly the columns', () => {
    const pooled = wasm.decodeColumns(packet);
    const r = wasm.decodeColumns(packet, { transferable: true });
    assert.equal(r.count, 3);
    assert.equal(r.values.buffer.byteLength, 34 * r.count);
    for (const k of COLUMN_KEYS) {
      assert.equal(r[k].buffer, r.values.buffer, k);
      assert.equal(r[k].length, r.count, k);
      assert.deepStrictEqual([...r[k]], [...pooled[k]], k);
    }
    assert.notEqual(r.values.buffer, pooled.values.buffer);
    // A clone copies its 102 bytes, not a pool.
    assert.equal(structuredClone(r).values.buffer.byteLength, 34 * 3);
    // Transferring it leaves every other result alone.
    structuredClone(r, { transfer: [r.values.buffer] });
    assert.equal(r.values.length, 0);
    assert.deepStrictEqual([...pooled.values], [12, 3, 1.5]);
    assert.equal(wasm.decodeColumns(packet, { transferable: false }).values.buffer, wasm.decodeColumns('a:1|c').values.buffer);
  });

  test('a transferable result goes to a worker thread without a copy', async () => {
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(`
      const { parentPort } = require('node:worker_threads');
      parentPort.on('message', (r) => parentPort.postMessage({
        bytes: r.values.buffer.byteLength,
        values: [...r.values], rates: [...r.sampleRates], ids: [...r.catalogIds], types: [...r.types],
      }));`, { eval: true });
    try {
      const r = wasm.decodeColumns(packet, { transferable: true });
      const expected = { bytes: 102, values: [...r.values], rates: [...r.sampleRates], ids: [...r.catalogIds], types: [...r.types] };
      const reply = new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
      worker.postMessage(r, [r.values.buffer]);
      assert.equal(r.values.length, 0, 'moved, not copied');
      assert.deepStrictEqual(await reply, expected);
      assert.deepStrictEqual(expected.values, [12, 3, 1.5]);
      const id = (name) => wasm.catalog().find((m) => m.name === name).id;
      assert.deepStrictEqual(expected.ids, [id('connection.online'), id('session.started'), -1]);
    } finally {
      await worker.terminate();
    }
  });
});

describe('Decoder', () => {
  test('joins lines split across chunks; numbering continues', () => {
    const d = new wasm.Decoder();
    assert.deepStrictEqual(d.push('a:1|'), { metrics: [], errors: [] });
    assert.equal(d.bufferedBytes, 4);
    const r1 = d.push('c\nb:2|c\r');
    assert.deepStrictEqual(r1.metrics.map((m) => [m.line, m.name, m.value]), [[1, 'a', 1]]);
    const r2 = d.push(enc.encode('\n\nbad\nc:3'));
    assert.deepStrictEqual(r2.metrics.map((m) => [m.line, m.name]), [[2, 'b']]);
    assert.deepStrictEqual(r2.errors.map((e) => e.line), [4]);
    assert.equal(d.linesRead, 4);
    const r3 = d.flush();
    assert.deepStrictEqual(r3.errors.map((e) => [e.line, e.column]), [[5, 4]]);
    assert.equal(d.bufferedBytes, 0);
    assert.deepStrictEqual(d.push('d:4|c\n').metrics.map((m) => m.line), [6]);
    d.end();
    assert.deepStrictEqual(d.push('e:5|c\n').metrics.map((m) => m.line), [1]);
    d.free();
  });

  test('free() twice, or free() and then Symbol.dispose, is a no-op; other calls after free() throw', () => {
    for (const make of [() => new wasm.Decoder(), () => new wasm.ColumnDecoder()]) {
      const d = make();
      d.free();
      d.free();
      if (Symbol.dispose) d[Symbol.dispose]();
      const call = d instanceof wasm.Decoder ? () => d.push('a:1|c\n') : () => d.decode('a:1|c');
      assert.throws(call, Error);
    }
    // The module is fine afterwards.
    assert.equal(new wasm.Decoder().push('a:1|c\n').metrics.length, 1);
  });

  test('a surrogate pair split between two string chunks is one character', () => {
    const text = 's:😀|s\nu:a😀b|s|#k:🎉\nv:\uD800|s\nw:\uDC00x|s\n';
    const whole = wasm.decode(text);
    assert.deepStrictEqual(whole.metrics.map((m) => m.value), ['😀', 'a😀b', '\uFFFD', '\uFFFDx']);
    for (let at = 0; at <= text.length; at++) {
      const d = new wasm.Decoder();
      const r = concatResults([d.push(text.slice(0, at)), d.push(text.slice(at)), d.end()]);
      assert.deepStrictEqual(r, whole, `split at ${at}`);
      d.free();
    }
    // A high surrogate that no low one follows: U+FFFD at the end, or before a chunk of bytes.
    const d = new wasm.Decoder();
    d.push('s:a|s|#k:\uD83D');
    assert.deepStrictEqual(d.flush().metrics.map((m) => m.tags), [{ k: '\uFFFD' }]);
    d.push('t:\uD83D');
    d.push(enc.encode('b|s\n'));
    assert.deepStrictEqual(d.end().metrics.map((m) => m.value), []);
    d.push('t:\uD83D');
    // A chunk of the wrong type is an Error and changes nothing.
    assert.throws(() => d.push(42), /must be a string, a Uint8Array or an ArrayBuffer/);
    assert.deepStrictEqual(d.push(enc.encode('b|s\n')).metrics.map((m) => m.value), ['\uFFFDb']);
    d.push('u:\uD83D');
    assert.deepStrictEqual(d.push(enc.encode('c|s\n').buffer).metrics.map((m) => m.value), ['\uFFFDc']);
    d.free();
  });

  test('a UTF-8 sequence split across chunks', () => {
    const bytes = enc.encode('café:1|c\n');
    const d = new wasm.Decoder();
    const parts = [d.push(bytes.subarray(0, 4)), d.push(bytes.subarray(4, 5)), d.push(bytes.subarray(5))];
    assert.deepStrictEqual(concatResults(parts).metrics.map((m) => m.name), ['café']);
  });

  test('the same as decode() for any chunking', () => {
    const random = rng(7);
    const input = enc.encode(
      'realm.h.connection.online:3|g\r\nbad\n\n_e{2,2}:ab|cd\nk,a=b:1:2|d|#c\nx:\xff|s\n'.repeat(20) + 'tail:1|c',
    );
    const whole = wasm.decode(input);
    for (let round = 0; round < 50; round++) {
      const d = new wasm.Decoder();
      const parts = [];
      for (let pos = 0; pos < input.length;) {
        const n = Math.floor(random() * 40);
        parts.push(d.push(input.subarray(pos, pos + n)));
        pos += n;
      }
      parts.push(d.end());
      assert.deepStrictEqual(concatResults(parts), whole);
    }
  });

  test('maxLineBytes bounds the buffer: a longer line is one error, its rest is dropped', () => {
    const d = new wasm.Decoder({ maxLineBytes: 8 });
    const r = d.push('x'.repeat(20));
    assert.deepStrictEqual(r.errors, [{ line: 1, column: 1, message: 'line longer than 8 bytes' }]);
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.linesRead, 1);
    const rest = d.push('y:1|c'.repeat(100));
    assert.deepStrictEqual([rest.metrics, rest.errors, d.bufferedBytes], [[], [], 0]);
    const r2 = d.push('\na:1|c\n');
    assert.deepStrictEqual(r2.errors, []);
    assert.deepStrictEqual(r2.metrics.map((m) => m.line), [2]);
    // flush() ends the over-long line too: the next push() starts a new line.
    assert.deepStrictEqual(d.push('z'.repeat(9)).errors.map((e) => e.line), [3]);
    assert.equal(d.flush().errors.length, 0);
    assert.deepStrictEqual(d.push('b:2|c\n').metrics.map((m) => m.line), [4]);
    d.free();
  });

  test('with maxLineBytes, CRLF lines decode the same however they are chunked; longer ones are one error', () => {
    // A CR before the LF is not part of the line, also when the line is maxLineBytes long.
    const text = 'a:1|c\r\nk:22|c\r\nlonger:1|c\r\nxy\r\n\r\nabcdef\r\nq:1|c\r';
    const bytes = enc.encode(text);
    for (const max of [3, 4, 5, 6, 7]) {
      const one = new wasm.Decoder({ maxLineBytes: max });
      const want = concatResults([one.push(text), one.end()]);
      if (max === 5) {
        assert.deepStrictEqual(want.metrics.map((m) => [m.line, m.name]), [[1, 'a'], [7, 'q']]);
        assert.deepStrictEqual(
          want.errors.map((e) => [e.line, e.column, e.message.startsWith('line longer')]),
          [[2, 1, true], [3, 1, true], [4, 3, false], [6, 1, true]],
        );
      }
      const pieces = [...Array(bytes.length + 1).keys()].map((at) => [bytes.subarray(0, at), bytes.subarray(at)]);
      pieces.push([...bytes].map((b) => Uint8Array.of(b)));
      for (const chunks of pieces) {
        const d = new wasm.Decoder({ maxLineBytes: max });
        const got = concatResults([...chunks.map((c) => d.push(c)), d.end()]);
        assert.deepStrictEqual(got, want, `maxLineBytes ${max}, ${chunks.length} chunks`);
        d.free();
      }
    }
  });
  test('item 9: an over-long line is one error and decoding resumes at the next line, for every chunking', () => {
    const tooLong = (line, max) => ({ line, column: 1, message: `line longer than ${max} bytes` });
    // The finding: 16 MiB of 'x' (the default bound), then a line from a host `evil`.
    const big = 16 * 1024 * 1024;
    const attack = enc.encode(
      'x'.repeat(big) + 'realm.evil.connection.started:1|c\nrealm.h.connection.online:1|g\n',
    );
    for (const size of [attack.length, 1 << 20, 65537]) {
      const d = new wasm.Decoder();
      const parts = [];
      for (let pos = 0; pos < attack.length; pos += size) {
        parts.push(d.push(attack.subarray(pos, pos + size)));
        assert.ok(d.bufferedBytes <= big + 2, `${d.bufferedBytes} bytes buffered`);
      }
      parts.push(d.end());
      const r = concatResults(parts);
      assert.deepStrictEqual(r.errors, [tooLong(1, big)], `chunks of ${size}`);
      assert.deepStrictEqual(r.metrics.map((m) => [m.line, m.host, m.metric]), [[2, 'h', 'connection.online']]);
      d.free();
    }
    // Small bounds: every split point, and byte by byte; LF and CRLF; a CR before the LF does
    // not count, one more byte does.
    for (const max of [5, 6, 7, 8, 9]) {
      const x = (c, n) => c.repeat(n);
      const head = 'a:1|c\n' + x('x', max + 1) + '\n' + x('x', max) + 'realm.evil.connection.started:1|c\r\n' +
        'k:2|c\r\n' + x('y', max) + '\r\n' + x('z', max) + '\r\r\nb:3|c\n\n' + x('w', max + 3) + '\rq:1|c\ne:4|c\n';
      const tails = [
        [x('v', 3 * max), [tooLong(11, max)]],
        [x('v', max) + '\r', [{ line: 11, column: max + 1, message: "expected ':' after the metric name at end of line" }]],
        [x('v', max + 1) + '\r', [tooLong(11, max)]],
        ['', []],
      ];
      for (const [tail, tailErrors] of tails) {
        const bytes = enc.encode(head + tail);
        const chunkings = [...Array(bytes.length + 1).keys()].map((at) => [bytes.subarray(0, at), bytes.subarray(at)]);
        chunkings.push([...bytes].map((b) => Uint8Array.of(b)));
        for (const chunks of chunkings) {
          const d = new wasm.Decoder({ maxLineBytes: max });
          const r = concatResults([...chunks.map((c) => d.push(c)), d.end()]);
          const what = `maxLineBytes ${max}, tail ${JSON.stringify(tail)}, ${chunks.length} chunks`;
          assert.deepStrictEqual(
            r.metrics.map((m) => [m.line, m.name]),
            [[1, 'a'], [4, 'k'], [7, 'b'], [10, 'e']],
            what,
          );
          assert.deepStrictEqual(
            r.errors,
            [
              tooLong(2, max),
              tooLong(3, max),
              { line: 5, column: max + 1, message: "expected ':' after the metric name at end of line" },
              tooLong(6, max),
              tooLong(9, max),
              ...tailErrors,
            ],
            what,
          );
          d.free();
        }
      }
    }
  });
});

test('catalog() has the 18 rows in reference order', () => {
  const rows = wasm.catalog();
  assert.equal(rows.length, 18);
  rows.forEach((r, i) => {
    assert.deepStrictEqual(Object.keys(r), ['id', 'name', 'kind', 'group', 'description']);
    assert.equal(r.id, i);
    assert.ok(['counter', 'gauge'].includes(r.kind));
    assert.ok(r.name.startsWith(r.group + '.'));
    assert.ok(r.description.length > 10);
  });
  assert.equal(rows[6].name, 'connection.online');
  assert.equal(rows[12].name, 'protocol.<version>.used');
  const bin = cliBinary();
  if (bin !== null) {
    const cli = JSON.parse(execFileSync(bin, ['catalog']).toString());
    assert.deepStrictEqual(rows.map(({ id, ...rest }) => rest), cli);
  }
});

describe('an exception in a call leaves everything usable', () => {
  const detached = () => {
    const ab = new ArrayBuffer(8);
    structuredClone(ab, { transfer: [ab] });
    return ab;
  };
  const cannotRead = (what) => (e) => e instanceof Error && e.message.startsWith(`${what}: cannot read the input: `);

  test('a detached ArrayBuffer is one Error; the same Decoder and ColumnDecoder go on', () => {
    const d = new wasm.Decoder();
    assert.equal(d.push('a:1|').metrics.length, 0);
    assert.throws(() => d.push(detached()), cannotRead('Decoder.push'));
    // Before, every later call on d threw "recursive use of an object detected".
    assert.deepStrictEqual(d.push('c\nb:2|c\n').metrics.map((m) => [m.line, m.value]), [[1, 1], [2, 2]]);
    assert.equal(d.end().metrics.length, 0);
    const cd = new wasm.ColumnDecoder();
    assert.throws(() => cd.decode(detached()), cannotRead('ColumnDecoder.decode'));
    assert.equal(cd.decode('a:2|c').values[0], 2);
    assert.throws(() => wasm.decode(detached()), cannotRead('decode'));
    assert.throws(() => wasm.decodeColumns(detached()), cannotRead('decodeColumns'));
    assert.equal(wasm.decode('a:3|c').metrics[0].value, 3);
  });

  test('an exception while building the result is one Error too', () => {
    // Make the JS that builds results throw, as running out of memory there would.
    const isWellFormed = String.prototype.isWellFormed;
    const decodeText = TextDecoder.prototype.decode;
    const d = new wasm.Decoder();
    const cd = new wasm.ColumnDecoder();
    try {
      String.prototype.isWellFormed = () => { throw new RangeError('no room'); };
      assert.throws(() => wasm.decode('a:1|c'), (e) => e instanceof Error && e.message === 'decode: no room');
      // Error messages go through a TextDecoder (so does the glue's own text: spare that).
      TextDecoder.prototype.decode = function (...args) {
        const text = decodeText.apply(this, args);
        if (text.includes("expected ':'")) throw new RangeError('no room');
        return text;
      };
      assert.throws(() => d.push(enc.encode('a:1|c\nbad\n')), (e) => e.message === 'Decoder.push: no room');
      assert.throws(() => cd.decode('bad'), (e) => e.message === 'ColumnDecoder.decode: no room');
      assert.throws(() => wasm.decodeColumns('bad'), (e) => e.message === 'decodeColumns: no room');
    } finally {
      String.prototype.isWellFormed = isWellFormed;
      TextDecoder.prototype.decode = decodeText;
    }
    assert.equal(wasm.decode('a:1|c').metrics.length, 1);
    // The lines of the failed push are still buffered: flush decodes them, numbered as before.
    const r = d.flush();
    assert.deepStrictEqual(r.metrics.map((m) => m.line), [1]);
    assert.deepStrictEqual(r.errors.map((e) => e.line), [2]);
    assert.equal(cd.decode('bad').errorCount, 1);
    assert.equal(wasm.decodeColumns('bad').errorCount, 1);
  });
});

describe('hostile input: errors, never an exception or a hang', () => {
  test('invalid UTF-8 and NUL bytes, interleaved with good lines', () => {
    const random = rng(99);
    const parts = [];
    const want = [];
    for (let i = 0; i < 300; i++) {
      const garbage = Array.from({ length: Math.floor(random() * 30) }, () => {
        const b = Math.floor(random() * 256);
        return b === 10 ? 0 : b;
      });
      parts.push(Uint8Array.from(garbage), enc.encode('\n'));
      const name = `ok.${i}${i % 3 === 0 ? '.é😀' : ''}`;
      parts.push(enc.encode(`${name}:${i}|c|#k:${i % 7 === 0 ? 'ü' : 'v'}\n`));
      want.push({ line: 2 * i + 2, name, value: i, k: i % 7 === 0 ? 'ü' : 'v' });
    }
    const input = Buffer.concat(parts);
    const r = wasm.decode(input);
    const good = r.metrics.filter((m) => m.name.startsWith('ok.'));
    assert.deepStrictEqual(good.map((m) => ({ line: m.line, name: m.name, value: m.value, k: m.tags.k })), want);
    for (const e of r.errors) assert.equal(e.line % 2, 1);
    const cols = wasm.decodeColumns(input);
    assert.equal(cols.count, r.metrics.length);
    assert.equal(cols.errorCount, r.errors.length);
  });

  test('a line of many values and many tags: values + tags work, not values x tags', () => {
    // 16001 values and 16001 tags in 64 KB: one tags object per value made 256 million tag
    // entries and ran the module out of memory.
    const line = 'k:' + '1:'.repeat(16000) + '1|c|#' + 'a:1,'.repeat(16000) + 'b';
    const r = wasm.decode(line);
    assert.equal(r.metrics.length, 16001);
    assert.deepStrictEqual(r.errors, []);
    const tags = r.metrics[0].tags;
    assert.deepStrictEqual(tags, { a: '1', b: null });
    assert.ok(r.metrics.every((m) => m.tags === tags), 'the values of one segment share their tags');
    // The streaming decoder takes the same path, and goes on working.
    const d = new wasm.Decoder();
    assert.equal(d.push(line + '\n').metrics.length, 16001);
    assert.equal(d.push('a:1|c\n').metrics[0].line, 2);
    d.free();
    // Likewise unknown fields.
    const x = wasm.decode('k:' + '1:'.repeat(16000) + '1|c' + '|x'.repeat(16000)).metrics;
    assert.equal(x.length, 16001);
    assert.equal(x[0].extensions.length, 16000);
    assert.ok(x.every((m) => m.extensions === x[0].extensions));
  });

  test('values of different segments do not share tags', () => {
    const m = wasm.decode('k,a=b:1:2|c:3|g|#t').metrics;
    assert.deepStrictEqual(m.map((v) => v.tags), [{ a: 'b' }, { a: 'b' }, { a: 'b', t: null }]);
    assert.equal(m[0].tags, m[1].tags);
    assert.notEqual(m[1].tags, m[2].tags);
    const n = wasm.decode('k:1|c|#t\nk:1|c|#t').metrics;
    assert.notEqual(n[0].tags, n[1].tags, 'nor values of different lines');
  });

  test('long strings of every UTF-8 length decode as their bytes do', () => {
    // Past the 4 KiB first buffer, so the module asks for the string's exact UTF-8 length.
    for (const ch of ['a', 'é', '€', '😀', '\uD800', '\uDC00', 'a\uDBFF']) {
      const text = `k:1|s|#t:${ch.repeat(3000)}\nm:${ch.repeat(2000)}|s`;
      const r = wasm.decode(text);
      assert.deepStrictEqual(r, wasm.decode(enc.encode(text)), JSON.stringify(ch));
      assert.equal(r.metrics.length, 2, JSON.stringify(ch));
      assert.equal(wasm.decodeColumns(text).count, 2);
    }
  });

  test('10 MB of random bytes in one packet', () => {
    const random = rng(1234);
    const input = new Uint8Array(10 * 1024 * 1024);
    for (let i = 0; i < input.length; i += 4) {
      const x = Math.floor(random() * 4294967296);
      input[i] = x; input[i + 1] = x >>> 8; input[i + 2] = x >>> 16; input[i + 3] = x >>> 24;
    }
    const r = wasm.decode(input);
    assert.ok(r.errors.length > 1000);
    const c = wasm.decodeColumns(input);
    assert.equal(c.errorCount, r.errors.length);
    assert.equal(c.count, r.metrics.length);
    const d = new wasm.Decoder({ maxLineBytes: 4096 });
    let errors = 0;
    for (let pos = 0; pos < input.length; pos += 65536) errors += d.push(input.subarray(pos, pos + 65536)).errors.length;
    errors += d.end().errors.length;
    assert.ok(errors >= r.errors.length);
    d.free();
  });

  test('a 1 MB line: garbage, packed values, tags', () => {
    const mb = 1024 * 1024;
    const garbage = wasm.decode('x'.repeat(mb) + '\na:1|c');
    assert.deepStrictEqual(garbage.errors.map((e) => [e.line, e.column]), [[1, mb + 1]]);
    assert.equal(garbage.metrics.length, 1);
    const packed = 'k:' + '1:'.repeat(mb / 2 - 2) + '1|d';
    const r = wasm.decode(packed);
    assert.equal(r.metrics.length, mb / 2 - 1);
    assert.equal(wasm.decodeColumns(packed).count, mb / 2 - 1);
    const tags = 'k:1|c|#' + Array.from({ length: mb / 16 }, (_, i) => `t${i}:v`).join(',');
    assert.equal(Object.keys(wasm.decode(tags).metrics[0].tags).length, mb / 16);
    const nonAscii = 'é'.repeat(mb / 2) + ':1|c|#' + 'ü:1,'.repeat(1000);
    const [v] = wasm.decode(nonAscii).metrics;
    assert.equal(v.name.length, mb / 2);
    assert.deepStrictEqual(v.tags, { 'ü': '1' });
  });
});

describe('the package', () => {
  test('loads through require() and import() with the same API', async () => {
    const require = createRequire(import.meta.url);
    const viaRequire = require(wasmDir);
    const viaImport = await import(path.join(wasmDir, 'pkg', 'node', 'index.mjs'));
    for (const m of [viaRequire, viaImport]) {
      for (const name of ['decode', 'decodeColumns', 'Decoder', 'catalog']) assert.equal(typeof m[name], 'function', name);
    }
  });

  test('engines without String.prototype.isWellFormed still see lone surrogates as U+FFFD', () => {
    const script = `
      delete String.prototype.isWellFormed;
      delete String.prototype.toWellFormed;
      const w = require(${JSON.stringify(wasmDir)});
      const r = w.decode('s:a\\uD800b|s|#k:\\uDC00\\uD800\\nt:😀\\uDBFF\\uDFFF|s');
      process.stdout.write(JSON.stringify(r.metrics.map((m) => [m.value, m.tags])));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.deepStrictEqual(JSON.parse(out), [['a\uFFFDb', { k: '\uFFFD\uFFFD' }], ['😀\uDBFF\uDFFF', {}]]);
    assert.deepStrictEqual(JSON.parse(out), wasm.decode('s:a\uD800b|s|#k:\uDC00\uD800\nt:😀\uDBFF\uDFFF|s').metrics.map((m) => [m.value, m.tags]));
  });

  test('bytes from another realm (a vm context, an iframe) are bytes', async () => {
    const vm = await import('node:vm');
    const u8 = vm.runInNewContext('new Uint8Array([97, 58, 49, 124, 99])');
    const ab = vm.runInNewContext('new Uint8Array([98, 58, 50, 124, 99]).buffer');
    assert.equal(u8 instanceof Uint8Array, false);
    assert.deepStrictEqual(wasm.decode(u8).metrics.map((m) => [m.name, m.value]), [['a', 1]]);
    assert.deepStrictEqual(wasm.decode(ab).metrics.map((m) => [m.name, m.value]), [['b', 2]]);
    assert.equal(wasm.decodeColumns(u8).values[0], 1);
    assert.equal(new wasm.Decoder().push(ab).metrics.length, 0);
    assert.throws(() => wasm.decode(vm.runInNewContext('new Uint16Array(2)')), /must be a string, a Uint8Array or an ArrayBuffer/);
  });

  test('the web build loads in Node as an ES module, without warnings, after init()', () => {
    const web = path.join(wasmDir, 'pkg', 'web');
    const script = `
      import init, { decode } from ${JSON.stringify(path.join(web, 'index.js'))};
      import { readFileSync } from 'node:fs';
      await init({ module_or_path: readFileSync(${JSON.stringify(path.join(web, 'realm_metrics_wasm_bg.wasm'))}) });
      process.stdout.write(JSON.stringify(decode('realm.w.connection.online:3|g').metrics[0]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    const m = JSON.parse(r.stdout);
    assert.equal(m.metric, 'connection.online');
    assert.equal(m.host, 'w');
    assert.equal(m.value, 3);
  });

  test('the declared types name every export of both builds', async () => {
    const { readFileSync } = await import('node:fs');
    const dts = readFileSync(path.join(wasmDir, 'pkg', 'index.d.ts'), 'utf8');
    for (const s of [
      'export function decode(input: string | Uint8Array | ArrayBuffer, options?: DecodeOptions): DecodeResult;',
      'export function decodeColumns(input: string | Uint8Array | ArrayBuffer, options?: ColumnsOptions): ColumnsResult;',
      'export interface ColumnsOptions extends DecodeOptions {',
      'export function catalog(): CatalogEntry[];',
      'constructor(options?: DecoderOptions);',
      'push(chunk: string | Uint8Array | ArrayBuffer): DecodeResult;',
      "from './decoded';",
    ]) {
      assert.ok(dts.includes(s), s);
    }
    const decoded = readFileSync(path.join(wasmDir, 'pkg', 'decoded.d.ts'), 'utf8');
    assert.ok(decoded.includes('value: number | bigint | string;'));
    const node = createRequire(import.meta.url)(wasmDir);
    const web = await import(path.join(wasmDir, 'pkg', 'web', 'index.js'));
    for (const m of [node, web]) {
      for (const name of Object.keys(m)) {
        if (name === 'default') continue;
        assert.ok(new RegExp(`export (function|class|const) ${name}\\b`).test(dts), `declared: ${name}`);
      }
    }
  });
});

test('decode() equals `realm-metrics decode` on mutated inputs', { skip: cliBinary() === null && 'CLI not built' }, () => {
  const random = rng(2024);
  const seeds = [
    'realm.h.connection.online:3|g', 'a:1|c|@0.5|#k:v', 'k,a=b:1:2|d', 'x:1|c:2|ms|T5|c:id|xz',
    '_e{2,3}:ab|cde|p:low', '_sc|n|1|m:x', 'u:é|s', 'g:-1.5e3|g', 'realm.w.protocol.8.used:1|c',
  ];
  const alphabet = 'a:|#@,.-+019cgmsdhTe_\r{}\u00e9\u0000';
  let input = '';
  for (let i = 0; i < 3000; i++) {
    let line = seeds[Math.floor(random() * seeds.length)];
    for (let k = Math.floor(random() * 3); k > 0; k--) {
      const at = Math.floor(random() * (line.length + 1));
      const ch = alphabet[Math.floor(random() * alphabet.length)];
      line = random() < 0.5 ? line.slice(0, at) + ch + line.slice(at) : line.slice(0, at) + ch + line.slice(at + 1);
    }
    input += line + '\n';
  }
  let out;
  try {
    out = execFileSync(cliBinary(), ['decode'], { input, maxBuffer: 1 << 28 });
  } catch (e) {
    out = e.stdout; // exit status 1: some line was malformed
  }
  const expect = out.toString().trim().split('\n').map(parseJsonBig);
  const want = { metrics: [], errors: [] };
  for (const o of expect) {
    if ('error' in o) want.errors.push({ line: o.line, column: o.column, message: o.error });
    else want.metrics.push(Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c) => c.toUpperCase()), v])));
  }
  const got = wasm.decode(input);
  assert.equal(got.metrics.length, want.metrics.length);
  got.metrics.forEach((m, i) => assert.deepStrictEqual(m, want.metrics[i], `record ${i}`));
  // Error messages too: the wasm build renders them without core::fmt.
  assert.deepStrictEqual(got.errors, want.errors);
});
