// Types of realm-metrics-wasm (both builds). The decode result is the shared definition in
// ./decoded.d.ts (the same as the realm-metrics Node package's).

import type { DecodeError, DecodeResult, DecodedEvent, DecodedRecord, DecodedServiceCheck, DecodedValue } from './decoded';

export type { DecodeError, DecodeResult, DecodedEvent, DecodedRecord, DecodedServiceCheck, DecodedValue, MetricType, Tags } from './decoded';
/** Earlier names of the decode result types. */
export type MetricValue = DecodedValue;
export type StatsdEvent = DecodedEvent;
export type StatsdServiceCheck = DecodedServiceCheck;
export type DecodeErrorInfo = DecodeError;

/** Options of `decode()` and `decodeColumns()`. */
export interface DecodeOptions {
  /**
   * Recognise catalog metrics as `<prefix>.<catalog name>` (then `host` is null unless a `host`
   * tag gives it). Without it, names are recognised as `realm.<host>.<catalog name>`.
   */
  prefix?: string;
}

/** Options of `decodeColumns()`. */
export interface ColumnsOptions extends DecodeOptions {
  /**
   * Give the result's arrays one `ArrayBuffer` of their own (`result.values.buffer`, exactly
   * their bytes), which can go in the transfer list of `postMessage`. By default small results
   * share pooled 256 KiB buffers, which are faster to make but are copied whole by
   * `postMessage` and `structuredClone`.
   */
  transferable?: boolean;
}

/** Options of `new Decoder()`. */
export interface DecoderOptions extends DecodeOptions {
  /**
   * A line longer than this many bytes (not counting a CR before its LF) is one error,
   * `{ line, column: 1, message: "line longer than <maxLineBytes> bytes" }`; its rest is
   * dropped up to the next line break without being buffered. Default 16 MiB, as in
   * `realm-metrics decode`.
   */
  maxLineBytes?: number;
}

/**
 * The result of `decodeColumns()`: row `i` of every array describes one value, event or
 * service check. Type codes (`types`): `TYPE_CODE` (0 `c`, 1 `g`, 2 `ms`, 3 `h`, 4 `s`, 5 `d`,
 * 6 event, 7 service check). Flags (`flags`): `COLUMN_FLAG` (1 gauge delta, 2 kind mismatch).
 */
export interface ColumnsResult {
  /** Number of rows. */
  count: number;
  /**
   * The values as doubles (integers beyond 2^53 are rounded); NaN for set members and events;
   * the status for service checks.
   */
  values: Float64Array;
  /** `|@rate`, or NaN when absent. */
  sampleRates: Float64Array;
  /** Type codes (see above). */
  types: Uint8Array;
  /** Flags (see above). */
  flags: Uint8Array;
  /** Catalog id (`catalog()[id]`), or -1 when the name is not a catalog metric. */
  catalogIds: Int32Array;
  /** 1-based line numbers. */
  lines: Uint32Array;
  /** Byte offset of the name (an event's title) in the UTF-8 input. */
  nameOffsets: Uint32Array;
  /** Byte length of the name. */
  nameLengths: Uint32Array;
  /** Whether the input is ASCII: then byte offsets are also string indices. */
  ascii: boolean;
  /** `errors.length`. */
  errorCount: number;
  /** One entry per malformed line. */
  errors: DecodeError[];
}

/** A row of the Realm Object Server metric catalog. */
export interface CatalogEntry {
  /** Stable id (reference order, from 0). */
  id: number;
  /** Wire name after the prefix; `"protocol.<version>.used"` for the templated row. */
  name: string;
  kind: 'counter' | 'gauge';
  group: 'client' | 'session' | 'connection' | 'realms' | 'authentication' | 'permission' | 'protocol';
  description: string;
}

/**
 * Decode StatsD text (a string, or its UTF-8 bytes) into `{ metrics, errors }`. Malformed input
 * never throws; an argument of the wrong type throws an `Error`.
 */
export function decode(input: string | Uint8Array | ArrayBuffer, options?: DecodeOptions): DecodeResult;

/** Decode StatsD text into typed arrays (one row per value, event and service check). */
export function decodeColumns(input: string | Uint8Array | ArrayBuffer, options?: ColumnsOptions): ColumnsResult;

/** The 18 rows of the Realm Object Server metric catalog (index = id). */
export function catalog(): CatalogEntry[];

/**
 * A streaming decoder: `push()` chunks (lines may be split anywhere, even inside a UTF-8
 * sequence) and get the decoded complete lines back; `flush()` or `end()` decodes the tail.
 */
export class Decoder {
  constructor(options?: DecoderOptions);
  /** Add a chunk; returns the decoded complete lines. */
  push(chunk: string | Uint8Array | ArrayBuffer): DecodeResult;
  /** Decode the unterminated tail as a line; numbering goes on. */
  flush(): DecodeResult;
  /** `flush()`, then start over at line 1. */
  end(): DecodeResult;
  /** Bytes buffered (the unterminated tail). */
  readonly bufferedBytes: number;
  /** Lines decoded so far (empty lines included). */
  readonly linesRead: number;
  /** Release the wasm memory now (a second call does nothing; other calls then throw). */
  free(): void;
  [Symbol.dispose](): void;
}

/**
 * A reusable `decodeColumns()`: `decode()` returns views on buffers this decoder owns, reused
 * by the next `decode()` (their length is the capacity: read rows `0..count`). The views keep
 * the decoder alive.
 */
export class ColumnDecoder {
  constructor(options?: DecodeOptions);
  decode(input: string | Uint8Array | ArrayBuffer): ColumnsResult;
  /** Release the wasm memory now (a second call does nothing; other calls then throw). */
  free(): void;
  [Symbol.dispose](): void;
}

/** Column type codes of `ColumnsResult.types`. */
export const TYPE_CODE: Readonly<{ c: 0; g: 1; ms: 2; h: 3; s: 4; d: 5; event: 6; serviceCheck: 7 }>;
/** Wire types by type code (0 to 5). */
export const TYPE_NAMES: readonly ['c', 'g', 'ms', 'h', 's', 'd'];
/** Bits of `ColumnsResult.flags`. */
export const COLUMN_FLAG: Readonly<{ DELTA: 1; KIND_MISMATCH: 2 }>;
/** The columns in buffer order: [name, typed array, offset (x rows), bytes per row]. */
export const COLUMNS: ReadonlyArray<readonly [string, Function, number, number]>;

/** Web build only: load the module (from `realm_metrics_wasm_bg.wasm` next to it by default). */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
export default function init(
  options?: { module_or_path?: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<unknown>;
/** Web build only: instantiate synchronously from the module's bytes. */
export function initSync(options: { module: BufferSource | WebAssembly.Module } | BufferSource | WebAssembly.Module): unknown;
