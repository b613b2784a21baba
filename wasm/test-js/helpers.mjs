// Shared helpers of the node:test suites: loading the Node build, reading the shared vectors
// (tests/vectors/*.json) with exact big integers, and comparing results to them.

import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const wasmDir = path.resolve(here, '..');
export const repoRoot = path.resolve(wasmDir, '..');
export const vectorsDir = path.join(repoRoot, 'tests', 'vectors');

const require = createRequire(import.meta.url);
// The package as Node users load it (CommonJS, through package.json "exports").
export const wasm = require(wasmDir);

/**
 * JSON.parse, but integers outside +-(2^53 - 1) become BigInt (exact), as the vectors README asks.
 */
// The typed-array fields of a ColumnsResult.
export const COLUMN_KEYS = wasm.COLUMNS.map(([name]) => name);

export function parseJsonBig(text) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j])) j++;
      const tok = text.slice(i, j);
      if (/^-?\d+$/.test(tok) && !Number.isSafeInteger(Number(tok))) {
        out += `{"$bigint":"${tok}"}`;
      } else {
        out += tok;
      }
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out, (_k, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.$bigint === 'string' &&
    Object.keys(v).length === 1
      ? BigInt(v.$bigint)
      : v,
  );
}

export function loadVectors(file) {
  return parseJsonBig(readFileSync(path.join(vectorsDir, file), 'utf8'));
}

export function vectorInput(c) {
  return c.input_hex !== undefined ? Buffer.from(c.input_hex, 'hex') : c.input;
}

const camel = (k) => k.replace(/_([a-z])/g, (_m, ch) => ch.toUpperCase());

/** A CLI JSON object with its keys in camelCase (tag keys are data and stay as they are). */
export function toCamel(o) {
  const r = {};
  for (const [k, v] of Object.entries(o)) r[camel(k)] = v;
  return r;
}

/** Split CLI objects (values, events, service checks and errors in order) as `decode()` does. */
export function expectedResult(expect) {
  const metrics = [];
  const errors = [];
  for (const o of expect) {
    if ('error' in o) errors.push({ line: o.line, column: o.column });
    else metrics.push(toCamel(o));
  }
  return { metrics, errors };
}

/**
 * Compare a `decode()` result with CLI objects: records field by field (same key set, numbers by
 * value and kind of exactness: BigInt where the corpus has an unsafe integer), errors on line and
 * column (the message only has to be a non-empty string).
 */
export function assertSameAsCli(assert, actual, expect, label) {
  const want = expectedResult(expect);
  assert.equal(actual.metrics.length, want.metrics.length, `${label}: number of records`);
  assert.equal(actual.errors.length, want.errors.length, `${label}: number of errors`);
  want.metrics.forEach((w, i) => {
    assert.deepStrictEqual(actual.metrics[i], w, `${label}: record ${i}`);
  });
  want.errors.forEach((w, i) => {
    const e = actual.errors[i];
    assert.deepStrictEqual({ line: e.line, column: e.column }, w, `${label}: error ${i}`);
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0, `${label}: error ${i} has a message`);
  });
}

/** Where the CLI binary is, if built (wasm/test.sh builds it). */
export function cliBinary() {
  const candidates = [
    process.env.REALM_METRICS_BIN,
    path.join(repoRoot, 'target', 'debug', 'realm-metrics'),
    path.join(repoRoot, 'target', 'release', 'realm-metrics'),
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

/** Deterministic pseudo-random numbers (xorshift32), so failures reproduce. */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Concatenate DecodeResults (of Decoder calls). */
export function concatResults(results) {
  return {
    metrics: results.flatMap((r) => r.metrics),
    errors: results.flatMap((r) => r.errors),
  };
}
