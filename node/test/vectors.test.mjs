// The shared wire vectors (tests/vectors) through the package's encode() and decode().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pkg } from './helpers.mjs';

const dir = fileURLToPath(new URL('../../tests/vectors/', import.meta.url));
const BIG = '__big__';

/** JSON.parse, keeping integers of 16+ digits exact (as marked strings). */
function load(file) {
  const text = readFileSync(dir + file, 'utf8').replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, `$1"${BIG}$2"`);
  return JSON.parse(text);
}

/** snake_case vector keys -> the package's camelCase keys. */
const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

function sameNumber(actual, expected, where) {
  if (typeof expected === 'string' && expected.startsWith(BIG)) {
    assert.equal(BigInt(actual), BigInt(expected.slice(BIG.length)), where);
  } else if (typeof expected === 'number') {
    assert.equal(typeof actual === 'bigint' ? Number(actual) : actual, expected, where);
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

function compareObject(actual, expected, where) {
  const keys = Object.keys(expected).filter((k) => k !== 'error').map(camel);
  if ('error' in expected) {
    assert.deepEqual(Object.keys(actual).sort(), ['column', 'line', 'message'], where);
    assert.equal(actual.line, expected.line, where);
    assert.equal(actual.column, expected.column, where);
    assert.ok(actual.message.length > 0, where);
    return;
  }
  assert.deepEqual(Object.keys(actual).sort(), keys.sort(), `${where}: keys`);
  for (const [k, v] of Object.entries(expected)) {
    const a = actual[camel(k)];
    if (k === 'tags') assert.deepEqual({ ...a }, v, `${where}: tags`);
    else if (v === null || typeof v === 'number' || typeof v === 'string') sameNumber(a, v, `${where}: ${k}`);
    else assert.deepEqual(a, v, `${where}: ${k}`);
  }
}

function runDecode(file, toInput) {
  const cases = load(file);
  test(`${file}: ${cases.length} cases`, () => {
    assert.ok(cases.length > 0);
    for (const c of cases) {
      const { metrics, errors } = pkg.decode(toInput(c), c.prefix === null ? undefined : { prefix: c.prefix });
      // decode() splits values and errors; the vectors interleave them by line.
      const expValues = c.expect.filter((e) => !('error' in e));
      const expErrors = c.expect.filter((e) => 'error' in e);
      assert.equal(metrics.length, expValues.length, `${c.name}: values`);
      assert.equal(errors.length, expErrors.length, `${c.name}: errors`);
      expValues.forEach((e, i) => compareObject(metrics[i], e, `${c.name} #${i}`));
      expErrors.forEach((e, i) => compareObject(errors[i], e, `${c.name} error #${i}`));
    }
  });
}

runDecode('decode.json', (c) => c.input);
runDecode('decode_bytes.json', (c) => Buffer.from(c.input_hex, 'hex'));

test('decode.json through a Uint8Array that is not a Buffer', () => {
  const u8 = new TextEncoder().encode('realm.h.connection.started:2|c');
  assert.equal(pkg.decode(u8).metrics[0].metric, 'connection.started');
});

test('decode(): values of one segment share their tags and extensions, so a line of many of both stays linear', () => {
  // 16001 values and 16001 tags in 64 KB: a tags object per value would be 256 million entries.
  const line = 'k:' + '1:'.repeat(16000) + '1|c|#' + 'a:1,'.repeat(16000) + 'b';
  const { metrics, errors } = pkg.decode(line);
  assert.deepStrictEqual(errors, []);
  assert.equal(metrics.length, 16001);
  assert.deepStrictEqual(metrics[0].tags, { a: '1', b: null });
  assert.ok(metrics.every((m) => m.tags === metrics[0].tags));
  const x = pkg.decode('k:' + '1:'.repeat(16000) + '1|c' + '|x'.repeat(16000)).metrics;
  assert.equal(x[0].extensions.length, 16000);
  assert.ok(x.every((m) => m.extensions === x[0].extensions));
  // Other segments and other lines have their own.
  const m = pkg.decode('k,a=b:1:2|c:3|g|#t\nk,a=b:4|c').metrics;
  assert.deepStrictEqual(m.map((v) => v.tags), [{ a: 'b' }, { a: 'b' }, { a: 'b', t: null }, { a: 'b' }]);
  assert.equal(m[0].tags, m[1].tags);
  assert.notEqual(m[1].tags, m[2].tags);
  assert.notEqual(m[0].tags, m[3].tags);
});

function encodeValue(c) {
  const v = c.value;
  if (typeof v === 'string' && v.startsWith(BIG)) return BigInt(v.slice(BIG.length));
  if (typeof v === 'string' && c.type !== 's') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    return BigInt(v);
  }
  return v;
}

test('encode.json', () => {
  const cases = load('encode.json');
  assert.ok(cases.length > 0);
  let errors = 0;
  for (const c of cases) {
    const opts = {
      dialect: c.dialect,
      prefix: c.prefix,
      globalTags: c.global_tags,
      tags: c.tags,
      sampleRate: c.sample_rate === null ? undefined : c.sample_rate,
      delta: c.delta,
    };
    if (c.hostname_as_tag !== undefined) opts.hostnameAsTag = c.hostname_as_tag;
    const run = () => pkg.encode(c.metric, encodeValue(c), c.type, opts);
    if ('error' in c) {
      errors += 1;
      assert.throws(run, (e) => {
        assert.equal(e.code, `ERR_REALM_METRICS_${c.error.toUpperCase()}`, c.name);
        assert.ok(e instanceof TypeError || e instanceof RangeError, `${c.name}: ${e.constructor.name}`);
        return true;
      }, c.name);
    } else {
      assert.equal(run(), c.expect, c.name);
    }
  }
  assert.ok(errors > 0);
});
