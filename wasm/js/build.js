// Builds the JS results of realm-metrics-wasm from the buffers the Rust side fills
// (wasm/src/emit.rs). Imported by the generated bindings; not part of the public API.
//
// The tape is a stream of records. Each starts with a header word (kind in the low 4 bits,
// flags above) and the line number; strings are pairs of UTF-16 offsets into the input text
// (NONE, NONE for null); u64 items are a word (0: a number follows in the f64 stream,
// 1: high and low words of a BigInt follow).

const NONE = 0xffffffff;

// The record kinds, flags and column layout (wasm/src/layout.rs; the same text as js/layout.js,
// which wasm-bindgen cannot import from this file). The values of one segment of a line
// (`k:1:2:3|c|#t`) share one tags object and one extensions array.
// ---- generated from wasm/src/layout.rs (cargo test -p realm-metrics-wasm layout) ----
/** Record kinds: the low 4 bits of a tape header word. */
export const KIND = Object.freeze({
  VALUE: 0,
  EVENT: 1,
  SERVICE_CHECK: 2,
  ERROR: 3,
});
/** Tape header flags (above the kind): which optional parts follow. */
export const FLAG = Object.freeze({
  DELTA: 1,
  RATE: 2,
  TIMESTAMP: 4,
  METRIC: 8,
  VERSION: 16,
  KIND_MISMATCH: 32,
  TAGS: 64,
  CONTAINER: 128,
  EXTENSIONS: 256,
  TAGS_PREV: 512,
  EXTENSIONS_PREV: 1024,
});
/** How a value is stored on the tape. */
export const VALUE_KIND = Object.freeze({
  NUMBER: 0,
  BIG: 1,
  NEG_BIG: 2,
  SET: 3,
});
/** Wire metric types by column type code (`types`); 6 is an event, 7 a service check. */
export const TYPE_NAMES = Object.freeze(['c', 'g', 'ms', 'h', 's', 'd']);
/** Column type codes (`types`). */
export const TYPE_CODE = Object.freeze({
  c: 0,
  g: 1,
  ms: 2,
  h: 3,
  s: 4,
  d: 5,
  event: 6,
  serviceCheck: 7,
});
/** Column flags (`flags`). */
export const COLUMN_FLAG = Object.freeze({
  DELTA: 1,
  KIND_MISMATCH: 2,
});
/** Bytes per row of the columns. */
export const ROW_BYTES = 34;
/** Words per column error: line, column, message start, end. */
export const ERROR_WORDS = 4;
/** The columns in buffer order: [name, typed array, offset (x rows), bytes per row]. */
export const COLUMNS = Object.freeze([
  ['values', Float64Array, 0, 8],
  ['sampleRates', Float64Array, 8, 8],
  ['catalogIds', Int32Array, 16, 4],
  ['lines', Uint32Array, 20, 4],
  ['nameOffsets', Uint32Array, 24, 4],
  ['nameLengths', Uint32Array, 28, 4],
  ['types', Uint8Array, 32, 1],
  ['flags', Uint8Array, 33, 1],
]);
// ---- end of generated layout ----

const TYPES = TYPE_NAMES;
const { VALUE: K_VALUE, EVENT: K_EVENT, SERVICE_CHECK: K_SERVICE_CHECK } = KIND;
const {
  DELTA: F_DELTA,
  RATE: F_RATE,
  TIMESTAMP: F_TIMESTAMP,
  METRIC: F_METRIC,
  VERSION: F_VERSION,
  KIND_MISMATCH: F_KIND_MISMATCH,
  TAGS: F_TAGS,
  CONTAINER: F_CONTAINER,
  EXTENSIONS: F_EXTENSIONS,
  TAGS_PREV: F_TAGS_PREV,
  EXTENSIONS_PREV: F_EXTENSIONS_PREV,
} = FLAG;
const { NUMBER: V_NUMBER, NEG_BIG: V_NEG_BIG, SET: V_SET } = VALUE_KIND;

// The columns' array types and offsets, in COLUMNS order: values, sampleRates, catalogIds,
// lines, nameOffsets, nameLengths, types, flags (a unit test of the JS suite checks the names).
const [[, T0, O0], [, T1, O1], [, T2, O2], [, T3, O3], [, T4, O4], [, T5, O5], [, T6, O6], [, T7, O7]] = COLUMNS;

// Typed-array views of the columns at `base`, `stride` rows apart. (An object literal of one
// shape, built without a loop: results are made per call.)
function columnsAt(buffer, base, stride, count) {
  return {
    values: new T0(buffer, base + O0 * stride, count),
    sampleRates: new T1(buffer, base + O1 * stride, count),
    catalogIds: new T2(buffer, base + O2 * stride, count),
    lines: new T3(buffer, base + O3 * stride, count),
    nameOffsets: new T4(buffer, base + O4 * stride, count),
    nameLengths: new T5(buffer, base + O5 * stride, count),
    types: new T6(buffer, base + O6 * stride, count),
    flags: new T7(buffer, base + O7 * stride, count),
  };
}

// A surrogate pair, or a surrogate without its other half (which becomes U+FFFD).
const SURROGATES = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g;
const wellFormed = (m) => (m.length === 2 ? m : '\uFFFD');

let utf8Decoder = null;
const POOL_SIZE = 256 * 1024;
let pool = null;
let poolUsed = 0;

function utf8(memory, ptr, len) {
  if (len === 0) return '';
  if (utf8Decoder === null) utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return utf8Decoder.decode(new Uint8Array(bufferOf(memory), ptr, len));
}

let utf8Encoder = null;
// The view encodeInput writes through, and what it was made for (its own accessors are calls).
let encodeView = null;
let encodeBuffer = null;
let encodePtr = 0;
let encodeCap = 0;

// The wasm memory's ArrayBuffer. Reading `memory.buffer` is a slow accessor call, so it is read
// again only when the cached one is detached, which is what growing the memory does to it (its
// byteLength becomes 0; the live one is never empty).
let wasmBuffer = null;
function bufferOf(memory) {
  if (wasmBuffer === null || wasmBuffer.byteLength === 0) wasmBuffer = memory.buffer;
  return wasmBuffer;
}

// The length of a string's UTF-8, as TextEncoder makes it (a lone surrogate is U+FFFD, 3 bytes).
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// A Uint8Array or ArrayBuffer input as a Uint8Array (a view, not a copy); null for other types.
// Throws for a detached ArrayBuffer.
function asBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  // From another realm (an iframe, a vm context, Jest's node environment), instanceof is false.
  const tag = Object.prototype.toString.call(input);
  if (tag === '[object Uint8Array]') return input;
  if (tag === '[object ArrayBuffer]') return new Uint8Array(input);
  return null;
}

// Puts the input's bytes at ptr (cap bytes of room): a string's UTF-8, or a copy of a Uint8Array
// or ArrayBuffer. Returns 2 * length + 1 for a string and 2 * length for bytes; -2 - n when it
// needs n bytes (exactly: a string's UTF-8 length) but cap is less; -1 for any other type.
// (encodeInput below returns -3 where this throws: for a detached buffer.)
function encodeInputInner(memory, input, ptr, cap) {
  // The target view is cached: a new typed array per call costs as much as a small decode.
  let view = encodeView;
  const buffer = bufferOf(memory);
  if (view === null || encodeBuffer !== buffer || encodePtr !== ptr || encodeCap !== cap) {
    view = encodeView = new Uint8Array(buffer, ptr, cap);
    encodeBuffer = buffer;
    encodePtr = ptr;
    encodeCap = cap;
  }
  if (typeof input === 'string') {
    if (utf8Encoder === null) utf8Encoder = new TextEncoder();
    const r = utf8Encoder.encodeInto(input, view);
    return r.read === input.length ? 2 * r.written + 1 : -2 - utf8Length(input);
  }
  const bytes = asBytes(input);
  if (bytes === null) return -1;
  if (bytes.length > cap) return -2 - bytes.length;
  view.set(bytes);
  return 2 * bytes.length;
}

function big(hi, lo, negative) {
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  return negative ? -v : v;
}

function setTag(tags, key, value) {
  if (key === '__proto__') {
    Object.defineProperty(tags, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    tags[key] = value;
  }
}

function buildDecodeResultInner(text, memory, textPtr, textLen, uPtr, uLen, fPtr, fLen, msgPtr, msgLen, names) {
  const buffer = bufferOf(memory);
  const u = new Uint32Array(buffer, uPtr, uLen);
  const f = new Float64Array(buffer, fPtr, fLen);
  if (typeof text !== 'string') {
    text = utf8(memory, textPtr, textLen);
  } else if (text.isWellFormed === undefined) {
    // Engines before 2023 (Chrome 111, Firefox 119, Safari 16.4).
    text = text.replace(SURROGATES, wellFormed);
  } else if (!text.isWellFormed()) {
    // The decoder saw a lone surrogate as U+FFFD (one UTF-16 unit as well): show it so.
    text = text.toWellFormed();
  }
  const messages = utf8(memory, msgPtr, msgLen);
  const metrics = [];
  const errors = [];
  let i = 0;
  let j = 0;
  // The last value's tags and unknown fields, which the next values of its segment share.
  let prevTags = null;
  let prevExt = null;
  // Reads a string (or null) at i.
  const str = () => {
    const a = u[i];
    const b = u[i + 1];
    i += 2;
    return a === NONE ? null : text.slice(a, b);
  };
  const u64 = () => {
    if (u[i++] === V_NUMBER) return f[j++];
    const v = big(u[i], u[i + 1], false);
    i += 2;
    return v;
  };
  const tagsAt = () => {
    const tags = {};
    const n = u[i++];
    for (let k = 0; k < n; k++) {
      const key = text.slice(u[i], u[i + 1]);
      const a = u[i + 2];
      setTag(tags, key, a === NONE ? null : text.slice(a, u[i + 3]));
      i += 4;
    }
    return tags;
  };
  while (i < uLen) {
    const head = u[i];
    const kind = head & 15;
    const fl = head >>> 4;
    const line = u[i + 1];
    i += 2;
    if (kind === K_VALUE) {
      const name = text.slice(u[i], u[i + 1]);
      const type = TYPES[u[i + 2]];
      const vk = u[i + 3];
      i += 4;
      let value;
      if (vk === V_NUMBER) {
        value = f[j++];
      } else if (vk === V_SET) {
        value = text.slice(u[i], u[i + 1]);
        i += 2;
      } else {
        value = big(u[i], u[i + 1], vk === V_NEG_BIG);
        i += 2;
      }
      const sampleRate = fl & F_RATE ? f[j++] : null;
      const timestamp = fl & F_TIMESTAMP ? u64() : null;
      let metric = null;
      let host = null;
      if (fl & F_METRIC) {
        metric = names[u[i++]];
        host = str();
      }
      const version = fl & F_VERSION ? u64() : null;
      let tags;
      if (fl & F_TAGS) prevTags = tags = tagsAt();
      else if (fl & F_TAGS_PREV) tags = prevTags;
      else tags = {};
      const o = {
        line,
        name,
        type,
        value,
        delta: (fl & F_DELTA) !== 0,
        sampleRate,
        tags,
        timestamp,
        metric,
        host,
        version,
      };
      if (fl & F_KIND_MISMATCH) o.kindMismatch = true;
      if (fl & F_CONTAINER) o.container = str();
      if (fl & F_EXTENSIONS) {
        const n = u[i++];
        const ext = new Array(n);
        for (let k = 0; k < n; k++) ext[k] = str();
        o.extensions = prevExt = ext;
      } else if (fl & F_EXTENSIONS_PREV) {
        o.extensions = prevExt;
      }
      metrics.push(o);
    } else if (kind === K_EVENT) {
      const title = str();
      const body = str();
      const timestamp = fl & F_TIMESTAMP ? u64() : null;
      const hostname = str();
      const aggregationKey = str();
      const priority = str();
      const sourceTypeName = str();
      const alertType = str();
      const tags = fl & F_TAGS ? tagsAt() : {};
      metrics.push({
        line,
        type: 'event',
        title,
        text: body,
        timestamp,
        hostname,
        aggregationKey,
        priority,
        sourceTypeName,
        alertType,
        tags,
      });
    } else if (kind === K_SERVICE_CHECK) {
      const name = str();
      const status = u[i++];
      const timestamp = fl & F_TIMESTAMP ? u64() : null;
      const hostname = str();
      const tags = fl & F_TAGS ? tagsAt() : {};
      const message = str();
      metrics.push({ line, type: 'service_check', name, status, timestamp, hostname, tags, message });
    } else {
      const column = u[i];
      const message = messages.slice(u[i + 1], u[i + 2]);
      i += 3;
      errors.push({ line, column, message });
    }
  }
  return { metrics, errors };
}

function buildColumnsInner(memory, count, arenaPtr, errPtr, errWords, msgPtr, msgLen, ascii, transferable) {
  const buffer = bufferOf(memory);
  const errors = errorList(memory, errPtr, errWords, msgPtr, msgLen);
  // One copy of all columns (laid out by ColumnBufs::pack in emit.rs), then views on it. Small
  // results share pooled 256 KiB buffers, as Node's Buffer pool does: allocating an ArrayBuffer
  // costs more than decoding a datagram. Results never overlap. A transferable result, and a
  // large one, gets an ArrayBuffer of its own.
  const n = count;
  const size = ROW_BYTES * n;
  let ab;
  let off = 0;
  if (transferable || size > POOL_SIZE / 8) {
    ab = buffer.slice(arenaPtr, arenaPtr + size);
  } else {
    // A new pool when this one is full, or detached: a caller transferred a result's buffer
    // (the pool) to a worker, which left it empty.
    if (pool !== null && (poolUsed + size > POOL_SIZE || pool.byteLength === 0)) {
      pool = null;
    }
    if (pool === null) {
      pool = new Uint8Array(POOL_SIZE);
      poolUsed = 0;
    }
    ab = pool.buffer;
    off = poolUsed;
    pool.set(new Uint8Array(buffer, arenaPtr, size), off);
    poolUsed += (size + 7) & ~7;
  }
  const v = columnsAt(ab, off, n, n);
  return columnsResult(count, v, ascii, errors);
}

// The result of decodeColumns and ColumnDecoder.decode: the column views `v`, and the errors.
function columnsResult(count, v, ascii, errors) {
  return {
    count,
    values: v.values,
    sampleRates: v.sampleRates,
    types: v.types,
    flags: v.flags,
    catalogIds: v.catalogIds,
    lines: v.lines,
    nameOffsets: v.nameOffsets,
    nameLengths: v.nameLengths,
    ascii,
    errorCount: errors.length,
    errors,
  };
}

function errorList(memory, errPtr, errWords, msgPtr, msgLen) {
  const errors = [];
  if (errWords > 0) {
    const e = new Uint32Array(bufferOf(memory), errPtr, errWords);
    const messages = utf8(memory, msgPtr, msgLen);
    for (let k = 0; k < errWords; k += ERROR_WORDS) {
      errors.push({ line: e[k], column: e[k + 1], message: messages.slice(e[k + 2], e[k + 3]) });
    }
  }
  return errors;
}

// ColumnDecoder.decode: views on the decoder's own column buffer in wasm memory (stride `cap`
// rows, see ColumnArena in emit.rs), made again only when the buffer moves or memory grows.
function columnViewsInner(cache, memory, count, arenaPtr, cap, errPtr, errWords, msgPtr, msgLen, ascii) {
  const buffer = bufferOf(memory);
  let v = cache.v;
  if (v === undefined || cache.buffer !== buffer || cache.ptr !== arenaPtr || cache.cap !== cap) {
    v = cache.v = columnsAt(buffer, arenaPtr, cap, cap);
    cache.buffer = buffer;
    cache.ptr = arenaPtr;
    cache.cap = cap;
  }
  const errors = errorList(memory, errPtr, errWords, msgPtr, msgLen);
  return columnsResult(count, v, ascii, errors);
}

// --- the functions the Rust side imports ------------------------------------------------------
//
// None of them may throw: an exception would unwind through the wasm frames of the call without
// running their cleanup, leaving the call's borrows set, and every later call on the same
// Decoder or ColumnDecoder would then fail ("recursive use of an object"). So each one catches,
// keeps the exception for takeFailure(), and returns a value that tells the caller (-3 or
// undefined); the Rust side then throws an Error with its message, after its borrows are released.

let failure = null;

function fail(e) {
  failure = e;
}

// The message of the last exception kept, and forget it.
export function takeFailure() {
  const e = failure;
  failure = null;
  return e instanceof Error ? e.message : String(e);
}

export function encodeInput(memory, input, ptr, cap) {
  try {
    return encodeInputInner(memory, input, ptr, cap);
  } catch (e) {
    fail(e);
    return -3;
  }
}

export function buildDecodeResult(text, memory, textPtr, textLen, uPtr, uLen, fPtr, fLen, msgPtr, msgLen, names) {
  try {
    return buildDecodeResultInner(text, memory, textPtr, textLen, uPtr, uLen, fPtr, fLen, msgPtr, msgLen, names);
  } catch (e) {
    fail(e);
    return undefined;
  }
}

export function buildColumns(memory, count, arenaPtr, errPtr, errWords, msgPtr, msgLen, ascii, transferable) {
  try {
    return buildColumnsInner(memory, count, arenaPtr, errPtr, errWords, msgPtr, msgLen, ascii, transferable);
  } catch (e) {
    fail(e);
    return undefined;
  }
}

// Decoder.push: a string chunk's trailing high surrogate waits in state.high for the next chunk,
// so that a pair split between chunks is one character. A chunk of bytes after it gets U+FFFD.
export function joinSurrogates(state, chunk) {
  try {
    const high = state.high;
    if (typeof chunk === 'string') {
      const text = high === undefined ? chunk : high + chunk;
      const last = text.charCodeAt(text.length - 1);
      if (last >= 0xd800 && last < 0xdc00) {
        state.high = text[text.length - 1];
        return text.slice(0, -1);
      }
      state.high = undefined;
      return text;
    }
    const bytes = high === undefined ? null : asBytes(chunk);
    // Not bytes (encodeInput reports the wrong type; the surrogate waits), or nothing kept.
    if (bytes === null) return chunk;
    state.high = undefined;
    const out = new Uint8Array(bytes.length + 3);
    out.set([0xef, 0xbf, 0xbd]);
    out.set(bytes, 3);
    return out;
  } catch (e) {
    // A detached buffer: encodeInput reports it.
    return chunk;
  }
}

export function takeHigh(state) {
  const had = state.high !== undefined;
  state.high = undefined;
  return had;
}

export function columnViews(cache, memory, count, arenaPtr, cap, errPtr, errWords, msgPtr, msgLen, ascii) {
  try {
    return columnViewsInner(cache, memory, count, arenaPtr, cap, errPtr, errWords, msgPtr, msgLen, ascii);
  } catch (e) {
    fail(e);
    return undefined;
  }
}
