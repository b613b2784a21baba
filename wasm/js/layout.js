// The record tape and column layout of realm-metrics-wasm, generated from
// wasm/src/layout.rs: do not edit (REALM_METRICS_BLESS=1 cargo test -p realm-metrics-wasm layout).
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
