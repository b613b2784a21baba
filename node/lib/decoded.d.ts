// The result of decoding StatsD text, shared by the npm packages realm-metrics (Node addon) and
// realm-metrics-wasm. This file (types/decoded.d.ts at the repository root) is the one
// definition: node/lib/decoded.d.ts is a copy, and wasm/build.sh copies it into the wasm package;
// wasm/test.sh fails when a copy differs.

/** A StatsD metric type as on the wire. */
export type MetricType = 'c' | 'g' | 'ms' | 'h' | 's' | 'd';

/** Tags of a value: Telegraf bucket tags and DogStatsD `|#` tags merged; a bare tag is null. */
export type Tags = Record<string, string | null>;

/**
 * One decoded value. A multi-value line (`k:1|c:2|c`) and a packed line (`k:1:2:3|d`) give one
 * object per value.
 */
export interface DecodedValue {
  /** 1-based line number. */
  line: number;
  /** The bucket name (before any `,` bucket tags). */
  name: string;
  type: MetricType;
  /**
   * The value: a number; a `bigint` for an integer outside +-(2^53 - 1) (exact); the member
   * string for sets (`s`).
   */
  value: number | bigint | string;
  /** A gauge written with a leading sign (`+4`, `-4`): a change, not an absolute value. */
  delta: boolean;
  /** `|@rate`, or null. */
  sampleRate: number | null;
  tags: Tags;
  /** `|T<unix seconds>` (a `bigint` beyond 2^53 - 1), or null. */
  timestamp: number | bigint | null;
  /** The catalog name (`"connection.online"`, `"protocol.<version>.used"`), or null. */
  metric: string | null;
  /** The host of a catalog metric (from the name or a `host` tag); null with a prefix or no match. */
  host: string | null;
  /** The version of `protocol.<version>.used`, or null. */
  version: number | bigint | null;
  /** Present (true) when the name is a catalog name but the type does not match its kind. */
  kindMismatch?: true;
  /** Present with a `|c:<container id>` field. */
  container?: string;
  /** Present with unknown `|x...` fields: their text without the `|`, in order. */
  extensions?: string[];
}

/** A DogStatsD event (`_e{title_len,text_len}:title|text|...`). */
export interface DecodedEvent {
  line: number;
  type: 'event';
  title: string;
  /** The text as written (an escaped `\\n` stays a backslash sequence). */
  text: string;
  /** `|d:` date, or null. */
  timestamp: number | bigint | null;
  hostname: string | null;
  aggregationKey: string | null;
  priority: string | null;
  sourceTypeName: string | null;
  alertType: string | null;
  tags: Tags;
}

/** A DogStatsD service check (`_sc|name|status|...`). */
export interface DecodedServiceCheck {
  line: number;
  type: 'service_check';
  name: string;
  /** 0 OK, 1 warning, 2 critical, 3 unknown. */
  status: 0 | 1 | 2 | 3;
  timestamp: number | bigint | null;
  hostname: string | null;
  tags: Tags;
  message: string | null;
}

/** Anything a decode puts in `metrics`. */
export type DecodedRecord = DecodedValue | DecodedEvent | DecodedServiceCheck;

/** A malformed line. */
export interface DecodeError {
  /** 1-based line number. */
  line: number;
  /** 1-based byte column in the line; one past the end for a missing part. */
  column: number;
  /** What is wrong, e.g. `"unknown metric type (expected c, g, ms, h, s or d) at 'z'"`. */
  message: string;
}

/** The result of a decode. Malformed lines never throw: they are `errors`, the rest decodes. */
export interface DecodeResult {
  /** Values, events and service checks, in input order. */
  metrics: DecodedRecord[];
  /** One entry per malformed line, in input order. */
  errors: DecodeError[];
}
