'use strict';
// The package's JavaScript layer: hot-shots' StatsD client and the typed ROS catalog
// (RealmMetrics), both on a native sink (src/sink.rs). Counters and gauges are cells of memory
// that this file writes directly (a Float64Array over the sink's memory); the sink's flusher
// thread reads them and sends one line per series per flush. Types: ./index.d.ts.

const { isMainThread } = require('node:worker_threads');
const native = require('../index.js');

const { NativeSink, Metric } = native;
const CATALOG = Object.freeze(native.catalog().map((row) => Object.freeze(row)));

/**
 * @param {ErrorConstructor} Ctor
 * @param {string} code snake_case
 * @param {string} message
 */
function fail(Ctor, code, message) {
  const e = new Ctor(message);
  /** @type {any} */ (e).code = 'ERR_REALM_METRICS_' + code.toUpperCase();
  return e;
}

/** @param {unknown} v @param {string} what */
function checkNumber(v, what) {
  if (typeof v !== 'number') {
    throw fail(TypeError, 'invalid_argument', `${what} must be a number, got ${typeof v}`);
  }
  if (!Number.isFinite(v)) throw fail(RangeError, 'non_finite_value', `${what} is NaN or infinite`);
}

/**
 * A port: an integer in 1..65535 (0 would send nowhere; a fraction would be truncated).
 * @param {unknown} port
 */
function checkPort(port) {
  checkNumber(port, 'port');
  const p = /** @type {number} */ (port);
  if (!Number.isInteger(p) || p < 1 || p > 65535) {
    throw fail(RangeError, 'invalid_config', `port must be an integer in 1..65535, got ${p}`);
  }
  return p;
}

// ---- exit flush -------------------------------------------------------------------------------

/**
 * The live sinks, flushed synchronously when the process ends without close(): on 'exit'
 * (process.exit(), the end of the loop), on an uncaught exception (a monitor: the exception
 * still crashes the process as it would have) and on SIGTERM/SIGINT (then the signal is raised
 * again, unless the program has its own listener). Weak references: a sink that is garbage
 * collected is flushed by its finalizer. Nothing here keeps the process alive.
 * @type {Set<WeakRef<any>>}
 */
const LIVE = new Set();
const FORGET = new FinalizationRegistry((/** @type {WeakRef<any>} */ ref) => LIVE.delete(ref));
let hooked = false;

function flushLive() {
  for (const ref of LIVE) {
    const s = ref.deref();
    if (s && !s.closed) {
      try {
        s.flush(false);
      } catch {
        // Ending anyway: a failed last flush must not change how the process ends.
      }
    }
  }
}

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', flushLive);
  process.on('uncaughtExceptionMonitor', flushLive);
  if (!isMainThread) return;
  for (const sig of /** @type {const} */ (['SIGTERM', 'SIGINT'])) {
    const onSignal = () => {
      flushLive();
      if (process.listenerCount(sig) === 1) {
        // Ours is the only listener: end the way the signal would have ended the process.
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** @param {any} sink @returns {WeakRef<any>} */
function track(sink) {
  const ref = new WeakRef(sink);
  LIVE.add(ref);
  FORGET.register(sink, ref, ref);
  hookExit();
  return ref;
}

/** @param {WeakRef<any> | null} ref */
function untrack(ref) {
  if (!ref) return;
  LIVE.delete(ref);
  FORGET.unregister(ref);
}

/** @param {{code: string, message: string}} info */
function toError(info) {
  const e = new Error(info.message);
  /** @type {any} */ (e).code = info.code;
  return e;
}

// ---- the cells -------------------------------------------------------------------------------

/**
 * A counter is one cell: the cumulative sum (`cell[0] += n`). A gauge is four cells
 * `[sets, value, deltaAtSet, deltaSum]`: a set does `sets += 1; value = x; deltaAtSet =
 * deltaSum; sets += 1` (odd while it writes, so the flusher never reads half a set), a delta
 * does `deltaSum += d`. Only this thread writes them; the flusher only reads (src/sink.rs).
 *
 * The memory of one sink: chunks of 64-bit cells (Float64Array over native memory) and the
 * registered series. Shared by a client and its children (one JavaScript thread).
 */
class Cells {
  /** @param {any} sink */
  constructor(sink) {
    this.sink = sink;
    /** @type {Float64Array[]} */
    this.chunks = [];
    this.size = sink.chunkCells;
    this.next = 0;
    /** Series by `head \0 tail`: their cells. @type {Map<string, Float64Array>} */
    this.series = new Map();
    this.refused = 0;
  }

  /**
   * `n` contiguous cells in one chunk.
   * @param {number} n
   * @returns {[Float64Array, number]}
   */
  alloc(n) {
    let off = this.next % this.size;
    if (off + n > this.size) {
      this.next += this.size - off;
      off = 0;
    }
    const k = Math.floor(this.next / this.size);
    while (this.chunks.length <= k) this.chunks.push(new Float64Array(this.sink.chunk()));
    const at = this.next;
    this.next += n;
    return [this.chunks[k], at];
  }

  /**
   * The cells of a series (registering it on first use), or undefined when the sink refused it
   * (`maxRegistered` reached; counted in stats().droppedCardinality).
   * @param {'c' | 'g'} kind
   * @param {string} head
   * @param {string} tail
   * @param {boolean} negZero
   * @returns {Float64Array | undefined}
   */
  get(kind, head, tail, negZero) {
    const key = head + '\u0000' + tail;
    let v = this.series.get(key);
    if (v !== undefined) return v;
    if (this.sink.closed) return undefined;
    const n = kind === 'c' ? 1 : 4;
    const save = this.next;
    let chunk;
    let at;
    try {
      [chunk, at] = this.alloc(n);
    } catch {
      // No more memory for cells (bounded by maxRegistered): refused, as a full registry.
      this.next = save;
      this.refused += 1;
      return undefined;
    }
    const ok = kind === 'c' ? this.sink.counter(at, head, tail) : this.sink.gauge(at, head, tail, negZero);
    if (!ok) {
      this.next = save;
      this.refused += 1;
      return undefined;
    }
    const off = at % this.size;
    v = chunk.subarray(off, off + n);
    this.series.set(key, v);
    return v;
  }
}

// ---- hot-shots formatting -------------------------------------------------------------------

const KEY_RESERVED = /[:|@,#\n\r]/g;
const KEY_RESERVED_TELEGRAF = /[:|,\n\r]/g;
const VALUE_RESERVED = /[|@,#\n\r]/g;
const VALUE_RESERVED_TELEGRAF = /[|,\n\r]/g;
const NAME_RESERVED = /[:|\n\r]/g;

/** @param {unknown} v @param {boolean} telegraf @param {RegExp} re */
function sanitize(v, telegraf, re) {
  let s = String(v).replace(re, '_');
  if (telegraf && s.endsWith('\\')) s = s.slice(0, -1) + '_';
  return s;
}

/** A tag key (or a bare tag): no `:`. @param {unknown} v @param {boolean} telegraf */
function sanitizeKey(v, telegraf) {
  return sanitize(v, telegraf, telegraf ? KEY_RESERVED_TELEGRAF : KEY_RESERVED);
}

/** A tag value (`:` allowed). @param {unknown} v @param {boolean} telegraf */
function sanitizeValue(v, telegraf) {
  return sanitize(v, telegraf, telegraf ? VALUE_RESERVED_TELEGRAF : VALUE_RESERVED);
}

/**
 * Tags as hot-shots formats them: `"key:value"` or a bare `"tag"`, reserved characters replaced
 * by `_`.
 * @param {unknown} tags an array of strings or an object
 * @param {boolean} telegraf
 * @returns {string[]}
 */
function formatTags(tags, telegraf) {
  if (Array.isArray(tags)) {
    return tags.map((t) => {
      const i = typeof t === 'string' ? t.indexOf(':') : -1;
      if (i > 0) return sanitizeKey(t.slice(0, i), telegraf) + ':' + sanitizeValue(t.slice(i + 1), telegraf);
      return sanitizeKey(t, telegraf);
    });
  }
  if (tags !== null && typeof tags === 'object') {
    return Object.keys(tags).map((k) => sanitizeKey(k, telegraf) + ':' + sanitizeValue(/** @type {any} */ (tags)[k], telegraf));
  }
  return [];
}

/**
 * `parent` with the tags of `child` added; a child `key:value` tag replaces the parent's tags
 * of that key (bare tags are only added).
 * @param {string[]} parent formatted
 * @param {unknown} child unformatted
 * @param {boolean} telegraf
 */
function overrideTags(parent, child, telegraf) {
  if (!child || typeof child !== 'object') return parent;
  const formatted = formatTags(child, telegraf);
  if (formatted.length === 0) return parent;
  /** @type {Map<string, string[]>} */
  const keyed = new Map();
  /** @type {string[]} */
  const bare = [];
  for (const t of formatted) {
    const i = t.indexOf(':');
    if (i < 1) bare.push(t);
    else {
      const k = t.slice(0, i);
      const list = keyed.get(k);
      if (list) list.push(t);
      else keyed.set(k, [t]);
    }
  }
  const out = parent.filter((t) => {
    const i = t.indexOf(':');
    return i < 1 || !keyed.has(t.slice(0, i));
  });
  for (const list of keyed.values()) out.push(...list);
  out.push(...bare);
  return out;
}

/** hot-shots 17: a prefix ends with a dot. @param {unknown} p */
function normalizePrefix(p) {
  if (p && typeof p === 'string' && !p.endsWith('.')) return p + '.';
  return p ? String(p) : '';
}

/** hot-shots 17: a suffix starts with a dot. @param {unknown} s */
function normalizeSuffix(s) {
  if (s && typeof s === 'string' && !s.startsWith('.')) return '.' + s;
  return s ? String(s) : '';
}

/** Seconds since the epoch, as hot-shots writes dates. @param {unknown} d */
function formatDate(d) {
  if (d instanceof Date) return Math.round(d.getTime() / 1000);
  if (typeof d === 'number' || d instanceof Number) return Math.round(Number(d));
  return undefined;
}

const ENV_TAGS = /** @type {const} */ ([
  ['DD_ENTITY_ID', 'dd.internal.entity_id'],
  ['DD_ENV', 'env'],
  ['DD_SERVICE', 'service'],
  ['DD_VERSION', 'version'],
]);

/**
 * Global tags from the environment, as hot-shots adds them (unless `includeDataDogTags: false`):
 * `DD_TAGS` (or `DATADOG_TAGS`), then `DD_ENTITY_ID`, `DD_ENV`, `DD_SERVICE`, `DD_VERSION`,
 * which replace a global tag of the same key.
 * @param {string[]} tags @param {boolean} telegraf
 */
function envTags(tags, telegraf) {
  let out = tags;
  const raw = process.env.DD_TAGS || process.env.DATADOG_TAGS;
  if (raw) {
    const list = String(raw).split(raw.includes(',') ? ',' : /\s+/).map((t) => t.trim()).filter((t) => t !== '');
    if (list.length) out = overrideTags(out, list, telegraf);
  }
  return envKeyTags(out);
}

/**
 * `tags` with those of DD_ENV, DD_SERVICE, DD_VERSION and DD_ENTITY_ID replaced by the
 * environment's values, as hot-shots 17 applies them.
 * @param {string[]} tags @returns {string[]}
 */
function envKeyTags(tags) {
  let out = tags;
  const present = ENV_TAGS.filter(([env]) => process.env[env]);
  if (present.length) {
    out = out.filter((t) => !present.some(([, tag]) => t.startsWith(tag + ':')))
      .concat(present.map(([env, tag]) => tag + ':' + sanitizeKey(process.env[env], false)));
  }
  return out;
}

/**
 * The transport in `DD_DOGSTATSD_URL` (`udp://host[:port]`, `unix://` / `unixgram://` path, and,
 * beyond hot-shots, `unixstream://` path) or `DD_DOGSTATSD_SOCKET` (a Unix datagram socket path),
 * as hot-shots 17 reads them; `null` when unset or unusable.
 * @returns {{protocol: string, host?: string, port?: number, path?: string} | null}
 */
function envTransport() {
  const url = process.env.DD_DOGSTATSD_URL;
  if (url) {
    const m = /^(udp|unix|unixgram|unixstream):\/\/(.*)$/.exec(url);
    if (m && m[1] !== 'udp' && m[2] !== '') return { protocol: m[1] === 'unixstream' ? 'stream' : 'uds', path: m[2] };
    if (m && m[1] === 'udp') {
      const rest = m[2];
      let host = rest;
      let port = '8125';
      const bracket = /^\[(.+)\](?::(\d+))?$/.exec(rest);
      if (bracket) {
        host = bracket[1];
        if (bracket[2] !== undefined) port = bracket[2];
      } else if (rest.indexOf(':') !== -1 && rest.indexOf(':') === rest.lastIndexOf(':')) {
        host = rest.slice(0, rest.indexOf(':'));
        port = rest.slice(rest.indexOf(':') + 1);
      }
      const p = /^\d+$/.test(port) ? Number(port) : 0;
      if (host !== '' && p >= 1 && p <= 65535) return { protocol: 'udp', host, port: p };
    }
  }
  const sock = process.env.DD_DOGSTATSD_SOCKET;
  if (sock && sock.trim() !== '') return { protocol: 'uds', path: sock.trim() };
  return null;
}

const CHECKS = Object.freeze({ OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 });
const POSITIONAL = ['host', 'port', 'prefix', 'suffix', 'globalize', 'cacheDns', 'mock', 'globalTags',
  'maxBufferSize', 'bufferFlushInterval', 'telegraf', 'sampleRate', 'protocol'];
const DEFAULT_MOCK_BUFFER = 1000;

/**
 * What a client and its children share: the sink (none in mock mode, or when the transport
 * could not be set up), the cells, the mock buffer and the settings of the wire.
 */
class Core {
  constructor() {
    /** @type {any} */
    this.sink = null;
    /** @type {Cells | null} */
    this.cells = null;
    /** @type {WeakRef<any> | null} */
    this.ref = null;
    /** An error every send reports (an unknown protocol, an unresolvable host). @type {Error | null} */
    this.error = null;
    /** DD_ENV and the like are global tags (`includeDataDogTags` not false). */
    this.envTags = true;
    /** Removes this client's listeners from a `stream` once it closes. @type {(() => void) | null} */
    this.unlisten = null;
    this.mock = false;
    /** One line per call (mock mode or `aggregation: false`). */
    this.perCall = false;
    this.telegraf = false;
    this.tagPrefix = '#';
    this.tagSeparator = ',';
    /** hot-shots' `stream` option: where pump() writes the sink's payloads. @type {any} */
    this.stream = null;
    /** Flush the sink and write its payloads to `stream`. @type {() => void} */
    this.pump = () => {};
    /** A pump is scheduled (per-call lines to a stream). */
    this.pumping = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    /** Write no tags (`dialect: 'etsy'`). */
    this.noTags = false;
    this.sampleRate = 1;
    this.closed = false;
    this.maxFast = 20064;
  }
}

/**
 * Normalise hot-shots' trailing arguments `(value, sampleRate, tags, callback)` after the
 * method-specific shifts: `{sampleRate, tags}` as the third argument, a non-number sample rate
 * taken as the tags, a non-object tags taken as the callback.
 * @param {any} sampleRate @param {any} tags @param {any} callback
 * @returns {[number | undefined, unknown, any, unknown]}
 */
function trailing(sampleRate, tags, callback) {
  let timestamp;
  if (sampleRate && typeof sampleRate === 'object' && !Array.isArray(sampleRate) &&
    ('sampleRate' in sampleRate || 'tags' in sampleRate || 'timestamp' in sampleRate || 'cardinality' in sampleRate)) {
    timestamp = sampleRate.timestamp;
    callback = tags;
    tags = sampleRate.tags;
    sampleRate = sampleRate.sampleRate;
  }
  if (sampleRate && typeof sampleRate !== 'number') {
    if (tags !== undefined && tags !== null && typeof tags === 'object') sampleRate = undefined;
    else {
      callback = tags;
      tags = sampleRate;
      sampleRate = undefined;
    }
  }
  if (tags && typeof tags !== 'object') {
    callback = tags;
    tags = undefined;
  }
  // hot-shots treats a per-call rate of 0 as "not given" (the client's rate applies).
  if (sampleRate !== undefined && sampleRate !== null && sampleRate !== 0) {
    checkNumber(sampleRate, 'sampleRate');
    if (!(sampleRate > 0 && sampleRate <= 1)) {
      throw fail(RangeError, 'invalid_sample_rate', 'sample rate must be > 0 and <= 1');
    }
  }
  return [sampleRate || undefined, tags, callback, timestamp];
}

/** @param {unknown} stat @returns {string[]} */
function statNames(stat) {
  const names = Array.isArray(stat) ? stat : [stat];
  for (const s of names) {
    if (typeof s !== 'string') throw fail(TypeError, 'invalid_name', 'stat must be a string or an array of strings');
  }
  return names;
}

/**
 * A hot-shots compatible client (see README: "Migrating from hot-shots"). Counters and gauges
 * aggregate in process unless `aggregation: false` or `mock: true`.
 * @constructor
 * @param {any} [host] the options object, or hot-shots' positional arguments
 */
function StatsD(host, port, prefix, suffix, globalize, cacheDns, mock, globalTags, maxBufferSize,
  bufferFlushInterval, telegraf, sampleRate, protocol) {
  if (!(this instanceof StatsD)) {
    // @ts-ignore hot-shots' Client can be called without `new`.
    return new StatsD(...arguments);
  }
  /** @type {any} */
  let o = host || {};
  if (arguments.length > 1 || typeof host === 'string') {
    o = {};
    POSITIONAL.forEach((k, i) => { o[k] = arguments[i]; });
    o.mock = mock === true;
  } else {
    o = { ...o };
  }
  if (o.isChild) throw fail(TypeError, 'invalid_config', 'use childClient() to make a child client');
  // hot-shots 17: with no transport option, the Datadog agent's environment decides.
  if (!o.telegraf && !o.useDefaultRoute && !o.protocol && !o.host && !o.port && !o.path && !o.stream) {
    const env = envTransport();
    if (env) Object.assign(o, env);
  }
  const core = new Core();
  /** @type {Core} */
  this._core = core;
  core.telegraf = Boolean(o.telegraf) || o.dialect === 'telegraf';
  core.noTags = o.dialect === 'etsy';
  core.tagPrefix = o.tagPrefix || '#';
  core.tagSeparator = o.tagSeparator || ',';
  core.mock = Boolean(o.mock);
  core.perCall = core.mock || o.aggregation === false;
  if (typeof o.sampleRate === 'number' && o.sampleRate > 0 && o.sampleRate <= 1) core.sampleRate = o.sampleRate;
  else if (o.sampleRate !== undefined && o.sampleRate !== null) {
    // hot-shots 17: warn once at construction and use 1.
    console.error(`realm-metrics: 'sampleRate' must be a number in (0, 1], got ${String(o.sampleRate)}; using 1`);
  }
  if (o.maxRegistered !== undefined) {
    checkNumber(o.maxRegistered, 'maxRegistered');
    core.maxFast = 2 * Math.floor(o.maxRegistered) + 64;
  }
  this.protocol = o.protocol ? String(o.protocol).toLowerCase() : 'udp';
  this.host = o.host || process.env.DD_AGENT_HOST || 'localhost';
  // An explicit port must be valid (hot-shots 17 warns and falls back to 8125; sending to
  // another port than the one asked for hides the mistake).
  this.port = o.port !== undefined && o.port !== null ? checkPort(o.port)
    : parseInt(/** @type {string} */ (process.env.DD_DOGSTATSD_PORT), 10) || 8125;
  this.path = o.path;
  this.prefix = normalizePrefix(o.prefix);
  this.suffix = normalizeSuffix(o.suffix);
  this.telegraf = core.telegraf;
  this.mock = core.mock;
  this.tagPrefix = core.tagPrefix;
  this.tagSeparator = core.tagSeparator;
  this.sampleRate = core.sampleRate;
  this.cacheDns = o.cacheDns === true;
  // hot-shots 17: an interval that is not a number in (0, 2^31 - 1] is warned about and
  // replaced by 1000 ms. 0 is kept: here it means "no timed flush" (flush() and close() only).
  let flushEvery = o.bufferFlushInterval === undefined || o.bufferFlushInterval === null ? 1000 : o.bufferFlushInterval;
  if (typeof flushEvery !== 'number' || !(flushEvery >= 0 && flushEvery <= 2147483647)) {
    console.error(`realm-metrics: 'bufferFlushInterval' must be a number of ms in (0, 2147483647], got ${String(flushEvery)}; using 1000`);
    flushEvery = 1000;
  }
  this.bufferFlushInterval = flushEvery;
  /** @type {string[]} */
  let tags = typeof (o.globalTags || o.global_tags) === 'object' ? formatTags(o.globalTags || o.global_tags, core.telegraf) : [];
  core.envTags = o.includeDataDogTags !== false;
  if (core.envTags) tags = envTags(tags, core.telegraf);
  this.globalTags = tags;
  this.errorHandler = typeof o.errorHandler === 'function' ? o.errorHandler : undefined;
  this.isChild = false;
  /** @type {string[]} */
  this.mockBuffer = [];
  this.mockBufferSize = o.mockBufferSize === undefined ? DEFAULT_MOCK_BUFFER : o.mockBufferSize;
  this.CHECKS = CHECKS;
  this._init();
  if (o.globalize) /** @type {any} */ (globalThis).statsd = this;
  const uds = this.protocol === 'uds';
  let maxBuffer = o.maxBufferSize === undefined || o.maxBufferSize === null ? undefined : o.maxBufferSize;
  if (maxBuffer !== undefined) {
    checkNumber(maxBuffer, 'maxBufferSize');
    if (!Number.isInteger(maxBuffer) || maxBuffer < 0) {
      throw fail(RangeError, 'invalid_config', `maxBufferSize must be an integer >= 0, got ${maxBuffer}`);
    }
    if (uds && maxBuffer > 8192) {
      console.warn(`realm-metrics: maxBufferSize ${maxBuffer} is more than a UDS datagram carries here; using 8192`);
    }
    // A datagram carries at most 65507 bytes (8192 for a Unix datagram socket, as hot-shots).
    maxBuffer = Math.min(maxBuffer, uds ? 8192 : 65507);
  }
  // As hot-shots: the option as given (0 when not), capped for UDS.
  this.maxBufferSize = maxBuffer === undefined ? 0 : maxBuffer;
  if (core.mock) return;

  /** @type {import('../index').NativeSinkOptions} */
  const n = { protocol: this.protocol };
  if (this.protocol === 'udp' || this.protocol === 'tcp') {
    n.host = String(this.host);
    n.port = checkPort(this.port);
  } else if (uds) {
    n.path = String(o.path || '/var/run/datadog/dsd.socket');
  } else if (this.protocol === 'stream' && typeof o.path === 'string') {
    n.path = o.path;
  } else if (this.protocol === 'stream' && o.stream && typeof o.stream.write === 'function') {
    // hot-shots' `stream` option (any writable stream): the sink keeps the payloads and this
    // thread writes them, newline-framed.
    n.protocol = 'pull';
    core.stream = o.stream;
  }
  n.flushIntervalMs = this.bufferFlushInterval;
  const interval = this.bufferFlushInterval;
  if (core.perCall) {
    // hot-shots: maxBufferSize 0 (default) sends each line in its own datagram right away;
    // above 0, lines are joined until the next would pass it, then sent.
    const mb = maxBuffer === undefined ? (uds ? 8192 : 0) : maxBuffer;
    n.maxPayload = mb;
    n.sendThreshold = mb > 0 ? mb : 1;
  } else {
    n.maxPayload = maxBuffer ? maxBuffer : uds ? 8192 : 1432;
  }
  if (core.stream) {
    // This thread writes to the stream: the sink's thread never flushes on its own.
    n.flushIntervalMs = 0;
    n.sendThreshold = 0;
  }
  const U32 = 4294967295;
  if (o.maxRegistered !== undefined) n.maxSeries = Math.min(U32, Math.max(0, Math.floor(o.maxRegistered)));
  if (o.maxSamples !== undefined) {
    checkNumber(o.maxSamples, 'maxSamples');
    n.maxLines = Math.min(U32, Math.max(0, Math.floor(o.maxSamples)));
  }
  if (this.cacheDns) n.dnsTtlMs = typeof o.cacheDnsTtl === 'number' && o.cacheDnsTtl > 0 ? o.cacheDnsTtl : 60000;
  const handler = this.errorHandler;
  // hot-shots reports a transport it cannot make (an unknown protocol, a stream without a path)
  // to the errorHandler, and every later send fails with it.
  let bad = null;
  if (!['udp', 'uds', 'tcp', 'stream'].includes(this.protocol)) bad = `Unsupported protocol '${this.protocol}'`;
  else if (this.protocol === 'stream' && n.path === undefined && !core.stream) {
    bad = "`stream` option required for protocol 'stream' (a writable stream), or a Unix socket `path`";
  }
  if (bad) {
    core.error = fail(Error, 'invalid_config', bad);
    if (handler) handler(core.error);
    return;
  }
  core.sink = new NativeSink(n, handler ? (info) => handler(toError(info)) : undefined);
  const re = core.sink.resolveError;
  if (re) core.error = toError(re);
  core.cells = new Cells(core.sink);
  if (core.stream) {
    const stream = core.stream;
    // A stream with no error listener would crash the process on an error.
    const onError = (/** @type {Error} */ e) => { if (handler) handler(e); };
    stream.on('error', onError);
    // After close(), once the stream has closed, its listeners are back to what the program
    // left on it (as hot-shots leaves them).
    core.unlisten = () => { stream.removeListener('error', onError); };
    core.pump = () => {
      const sink = core.sink;
      if (!sink.closed) sink.flush(true);
      let lost = 0;
      for (const payload of sink.take()) {
        if (!stream.destroyed && !stream.writableEnded) stream.write(payload + '\n');
        else lost++;
      }
      // As hot-shots: a stream destroyed (or ended) by the program is reported, with the code
      // Node gives a write after destroy, once per flush that had something to write.
      if (lost && handler) {
        const e = fail(Error, 'send_failed', `the stream is ${stream.destroyed ? 'destroyed' : 'ended'}: ${lost} payload(s) not written`);
        /** @type {any} */ (e).code = 'ERR_STREAM_DESTROYED';
        handler(e);
      }
    };
    if (interval > 0) {
      core.timer = setInterval(core.pump, interval);
      core.timer.unref();
    }
    core.ref = track({ get closed() { return core.sink.closed; }, flush: core.pump });
  } else {
    core.ref = track(core.sink);
  }
}

/** Per-client state (a client or a child). */
StatsD.prototype._init = function _init() {
  /** Untagged counters by stat: their cell. @type {Map<string, Float64Array>} */
  this._fast = new Map();
  /** Untagged gauges by stat. @type {Map<string, Float64Array>} */
  this._fastGauge = new Map();
};

StatsD.CHECKS = CHECKS;

/**
 * hot-shots' line for one call, without sampling: `[head, tail]` around the value.
 * @param {string} stat @param {string} type @param {number | undefined} rate @param {unknown} tags
 * @returns {[string, string]}
 */
StatsD.prototype._parts = function _parts(stat, type, rate, tags, /** @type {unknown} */ timestamp) {
  const core = this._core;
  let name = this.prefix + stat.replace(NAME_RESERVED, '_') + this.suffix;
  let tail = '|' + type;
  if (rate !== undefined && rate < 1) tail += '|@' + rate;
  if (timestamp !== undefined && !core.telegraf) {
    const ts = formatDate(timestamp);
    if (ts) tail += '|T' + ts;
  }
  if (!core.noTags) {
    const merged = tags && typeof tags === 'object' ? overrideTags(this.globalTags, tags, core.telegraf) : this.globalTags;
    if (merged.length) {
      if (core.telegraf) {
        name += ',' + merged.map((t) => {
          const i = t.indexOf(':');
          return i < 1 ? t : t.slice(0, i) + '=' + t.slice(i + 1);
        }).join(',');
      } else {
        tail += '|' + core.tagPrefix + merged.join(core.tagSeparator);
      }
    }
  }
  return [name + ':', tail];
};

/**
 * A line that is not aggregated: to mockBuffer (mock mode) or to the sink's queue.
 * @returns {number} bytes
 */
StatsD.prototype._line = function _line(/** @type {string} */ line) {
  const core = this._core;
  if (core.mock) {
    const buf = this.mockBuffer;
    buf.push(line);
    while (buf.length > this.mockBufferSize) buf.shift();
    return 0;
  }
  if (core.sink && !core.sink.closed) {
    core.sink.line(line);
    if (core.stream && core.perCall && !core.pumping) {
      // Per call, lines go out right away (after the current task), as hot-shots writes them.
      core.pumping = true;
      queueMicrotask(() => {
        core.pumping = false;
        core.pump();
      });
    }
  }
  return Buffer.byteLength(line);
};

/**
 * Call back as hot-shots does: `(error)` when the transport is broken, `(null, bytes)` after a
 * send (`(null, 0)` in mock mode).
 * @param {unknown} cb @param {number} bytes
 */
StatsD.prototype._done = function _done(cb, bytes) {
  const err = this._core.error;
  if (err && !this._core.mock) {
    if (typeof cb === 'function') cb(err);
    else if (this.errorHandler) this.errorHandler(err);
    return;
  }
  if (typeof cb === 'function') cb(null, bytes);
};

/**
 * The general path of every metric method.
 * @param {unknown} stat @param {number | string} value @param {string} type `c g ms h d s`
 * @param {number | undefined} sampleRate @param {unknown} tags @param {unknown} callback
 * @param {number} op for counters and gauges: 0 add / set, 1 gauge delta
 */
StatsD.prototype._send = function _send(stat, value, type, sampleRate, tags, callback, op, /** @type {unknown} */ timestamp) {
  const core = this._core;
  const names = statNames(stat);
  const rate = sampleRate || core.sampleRate;
  const hasTags = tags !== undefined && tags !== null;
  if (hasTags && typeof tags !== 'object') throw fail(TypeError, 'invalid_tag', 'tags must be an object or an array');
  let bytes = 0;
  // A timestamped value is its own line (as in hot-shots' aggregation).
  const aggregate = !core.perCall && (type === 'c' || type === 'g') && timestamp === undefined;
  for (const s of names) {
    if (aggregate) {
      if (!core.cells) continue;
      const [head, tail] = this._parts(s, type, undefined, tags);
      const v = core.cells.get(/** @type {'c' | 'g'} */ (type), head, tail, core.telegraf || core.noTags);
      if (typeof callback === 'function') {
        bytes += Buffer.byteLength(head + (op === 1 ? (Number(value) >= 0 ? '+' : '-') + Math.abs(Number(value)) : value) + tail);
      }
      if (v === undefined) continue;
      const x = /** @type {number} */ (value);
      if (type === 'c') v[0] += x;
      else if (op === 1) v[3] += x;
      else {
        v[0] += 1;
        v[1] = x;
        v[2] = v[3];
        v[0] += 1;
      }
      const plain = !hasTags || (Array.isArray(tags) ? tags.length === 0 : Object.keys(/** @type {object} */ (tags)).length === 0);
      if (plain) {
        const fast = type === 'c' ? this._fast : this._fastGauge;
        if (fast.size < core.maxFast) fast.set(s, v);
      }
      continue;
    }
    if (rate < 1 && Math.random() >= rate) {
      // hot-shots calls back with no arguments for a single stat sampled out.
      if (!Array.isArray(stat) && !core.error) {
        if (typeof callback === 'function') callback();
        return;
      }
      continue;
    }
    const shown = op === 1 ? (Number(value) >= 0 ? '+' : '-') + Math.abs(Number(value)) : value;
    const [head, tail] = this._parts(s, type, rate < 1 ? rate : undefined, tags, timestamp);
    bytes += this._line(head + shown + tail);
  }
  this._done(callback, bytes);
};

/**
 * increment/decrement's general path (no `arguments` object: the hot path stays small).
 * @param {number} argc how many arguments the caller got
 */
StatsD.prototype._count = function _count(/** @type {any} */ stat, /** @type {any} */ value, /** @type {any} */ sampleRate,
  /** @type {any} */ tags, /** @type {any} */ callback, argc, /** @type {number} */ sign) {
  if (typeof value !== 'number') {
    if (argc < 3 || (typeof sampleRate === 'function' && tags === undefined)) {
      callback = sampleRate;
      tags = value;
      sampleRate = undefined;
      value = undefined;
    }
  }
  if (value === undefined || value === null) value = 1;
  const [rate, t, cb, ts] = trailing(sampleRate, tags, callback);
  checkNumber(value, 'value');
  this._send(stat, sign * value, 'c', rate, t, cb, 0, ts);
};

/**
 * Count `value` (default 1) on `stat`.
 * @param {string | string[]} stat
 */
StatsD.prototype.increment = function increment(stat, value, sampleRate, tags, callback) {
  // The hot path: one Map lookup and an add to the counter's cell.
  const n = arguments.length;
  if (n < 3) {
    const v = this._fast.get(stat);
    if (v !== undefined) {
      if (n === 1) {
        v[0] += 1;
        return;
      }
      if (typeof value === 'number' && value - value === 0) {
        v[0] += value;
        return;
      }
    }
  }
  this._count(stat, value, sampleRate, tags, callback, n, 1);
};

/** Count `-value` (default -1) on `stat`. @param {string | string[]} stat */
StatsD.prototype.decrement = function decrement(stat, value, sampleRate, tags, callback) {
  const n = arguments.length;
  if (n < 3) {
    const v = this._fast.get(stat);
    if (v !== undefined) {
      if (n === 1) {
        v[0] -= 1;
        return;
      }
      if (typeof value === 'number' && value - value === 0) {
        v[0] -= value;
        return;
      }
    }
  }
  this._count(stat, value, sampleRate, tags, callback, n, -1);
};

/** The general path of the other metric methods. @param {string} type @param {number} op */
StatsD.prototype._value = function _value(/** @type {any} */ stat, /** @type {any} */ v, /** @type {any} */ sampleRate,
  /** @type {any} */ tags, /** @type {any} */ callback, type, op) {
  let value = v;
  if (type === 'ms' && value instanceof Date) value = Date.now() - value.getTime();
  const [rate, t, cb, ts] = trailing(sampleRate, tags, callback);
  if (type === 's') {
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw fail(TypeError, 'invalid_value', 'a set member must be a string or a number');
    }
    if (typeof value === 'number') checkNumber(value, 'value');
  } else {
    checkNumber(value, 'value');
  }
  this._send(stat, value, type, rate, t, cb, op, ts);
};

/** Set the gauge `stat` to `value`. */
StatsD.prototype.gauge = function gauge(stat, value, sampleRate, tags, callback) {
  if (arguments.length === 2) {
    const v = this._fastGauge.get(stat);
    if (v !== undefined && typeof value === 'number' && value - value === 0) {
      v[0] += 1;
      v[1] = value;
      v[2] = v[3];
      v[0] += 1;
      return;
    }
  }
  this._value(stat, value, sampleRate, tags, callback, 'g', 0);
};

/** Change the gauge `stat` by `value`. */
StatsD.prototype.gaugeDelta = function gaugeDelta(stat, value, sampleRate, tags, callback) {
  if (arguments.length === 2) {
    const v = this._fastGauge.get(stat);
    if (v !== undefined && typeof value === 'number' && value - value === 0) {
      v[3] += value;
      return;
    }
  }
  this._value(stat, value, sampleRate, tags, callback, 'g', 1);
};

/** Record a timing in milliseconds (a `Date` means "since then"). */
StatsD.prototype.timing = function timing(stat, time, sampleRate, tags, callback) {
  this._value(stat, time, sampleRate, tags, callback, 'ms', 0);
};

/** Record a histogram sample. */
StatsD.prototype.histogram = function histogram(stat, value, sampleRate, tags, callback) {
  this._value(stat, value, sampleRate, tags, callback, 'h', 0);
};

/** Record a distribution sample. */
StatsD.prototype.distribution = function distribution(stat, value, sampleRate, tags, callback) {
  this._value(stat, value, sampleRate, tags, callback, 'd', 0);
};

/** Record a set member. */
StatsD.prototype.set = function set(stat, value, sampleRate, tags, callback) {
  this._value(stat, value, sampleRate, tags, callback, 's', 0);
};
StatsD.prototype.unique = StatsD.prototype.set;

/** A context whose `addTags` adds tags to the timing a timer records. */
function timerContext() {
  /** @type {string[]} */
  const added = [];
  return {
    /** @param {unknown} tags */
    addTags(tags) {
      if (!tags) return;
      if (Array.isArray(tags)) added.push(...tags);
      else if (typeof tags === 'object') for (const k of Object.keys(tags)) added.push(`${k}:${/** @type {any} */ (tags)[k]}`);
    },
    getTags() { return added; },
  };
}

/** @param {unknown} tags @param {string[]} added @param {boolean} telegraf */
function withAdded(tags, added, telegraf) {
  if (added.length === 0) return tags;
  if (!tags) return added;
  return formatTags(tags, telegraf).concat(added);
}

/**
 * Wrap `func`: each call records its duration (ms) as a timing of `stat`.
 * @param {Function} func
 */
StatsD.prototype.timer = function timer(func, stat, sampleRate, tags, callback) {
  return (/** @type {any[]} */ ...args) => {
    const ctx = timerContext();
    const start = process.hrtime.bigint();
    try {
      return func(...args, ctx);
    } finally {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      this.timing(stat, ms, sampleRate, withAdded(tags, ctx.getTags(), this.telegraf), callback);
    }
  };
};

/** @param {'timing' | 'distribution'} method */
function asyncTimerOf(method) {
  /** @this {any} @param {Function} func */
  return function asyncTimer(func, /** @type {any} */ stat, /** @type {any} */ sampleRate, /** @type {any} */ tags, /** @type {any} */ callback) {
    return (/** @type {any[]} */ ...args) => {
      const ctx = timerContext();
      const start = process.hrtime.bigint();
      const p = func(...args, ctx);
      const record = () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        this[method](stat, ms, sampleRate, withAdded(tags, ctx.getTags(), this.telegraf), callback);
      };
      p.then(record, record);
      return p;
    };
  };
}

/** Wrap an async `func`: each call records the time until its promise settles. */
StatsD.prototype.asyncTimer = asyncTimerOf('timing');
/** As asyncTimer, recorded as a distribution. */
StatsD.prototype.asyncDistTimer = asyncTimerOf('distribution');

/** @param {StatsD} c @param {unknown} callback */
function telegrafRefuses(c, callback) {
  const err = new Error('Not supported by Telegraf / InfluxDB');
  if (typeof callback === 'function') return callback(err);
  if (c.errorHandler) return c.errorHandler(err);
  throw err;
}

/**
 * A DogStatsD event.
 * @param {string} title @param {string} [text]
 */
StatsD.prototype.event = function event(title, text, options, tags, callback) {
  if (this.telegraf) return telegrafRefuses(this, typeof tags === 'function' ? tags : callback);
  const rawTitle = String(title ? title : '');
  const t = this.prefix + rawTitle + this.suffix;
  const body = String(text ? text : rawTitle).replace(/\n/g, '\\n');
  let line = `_e{${t.length},${body.length}}:${t}|${body}`;
  if (options) {
    const ts = options.date_happened ? formatDate(options.date_happened) : undefined;
    if (ts) line += `|d:${ts}`;
    if (options.hostname) line += `|h:${options.hostname}`;
    if (options.aggregation_key) line += `|k:${options.aggregation_key}`;
    if (options.priority) line += `|p:${options.priority}`;
    if (options.source_type_name) line += `|s:${options.source_type_name}`;
    if (options.alert_type) line += `|t:${options.alert_type}`;
  }
  if (typeof tags === 'function' && callback === undefined) {
    callback = tags;
    tags = undefined;
  }
  const merged = tags && typeof tags === 'object' ? overrideTags(this.globalTags, tags, false) : this.globalTags;
  if (merged.length && !this._core.noTags) line += '|' + this.tagPrefix + merged.join(this.tagSeparator);
  this._done(callback, this._line(line));
};

/**
 * A DogStatsD service check (`status`: StatsD.CHECKS).
 * @param {string} name @param {number} status
 */
StatsD.prototype.check = function check(name, status, options, tags, callback) {
  if (this.telegraf) return telegrafRefuses(this, typeof tags === 'function' ? tags : callback);
  const parts = ['_sc', this.prefix + name + this.suffix, String(status)];
  const meta = options || {};
  const ts = meta.date_happened ? formatDate(meta.date_happened) : undefined;
  if (ts) parts.push(`d:${ts}`);
  if (meta.hostname) parts.push(`h:${meta.hostname}`);
  const merged = tags && typeof tags === 'object' ? overrideTags(this.globalTags, tags, false) : this.globalTags;
  if (merged.length && !this._core.noTags) parts.push('#' + merged.join(','));
  if (meta.message) parts.push(`m:${meta.message}`);
  if (typeof tags === 'function' && callback === undefined) callback = tags;
  this._done(callback, this._line(parts.join('|')));
};

/**
 * A client sharing this one's socket and aggregation, with `prefix` prepended, `suffix`
 * appended and `globalTags` added (overriding tags of the same key).
 * @param {{prefix?: string, suffix?: string, globalTags?: object, errorHandler?: (e: Error) => void}} [options]
 */
StatsD.prototype.childClient = function childClient(options) {
  const o = options || {};
  const child = Object.create(StatsD.prototype);
  Object.assign(child, this);
  child._parent = this;
  child.isChild = true;
  child.prefix = normalizePrefix(o.prefix) + this.prefix;
  child.suffix = this.suffix + normalizeSuffix(o.suffix);
  child.globalTags = typeof o.globalTags === 'object' ? overrideTags(this.globalTags, o.globalTags, this.telegraf) : this.globalTags;
  // hot-shots 17: DD_ENV, DD_SERVICE, DD_VERSION and DD_ENTITY_ID win over a child's globalTags
  // too (DD_TAGS does not: the child inherits it and may override it).
  if (this._core.envTags && typeof o.globalTags === 'object') child.globalTags = envKeyTags(child.globalTags);
  child.errorHandler = o.errorHandler || this.errorHandler;
  // As in hot-shots, a child in mock mode has its own mockBuffer.
  child.mockBuffer = [];
  child._init();
  return child;
};

/**
 * Send everything recorded so far now. The callback gets the first send error of this flush,
 * or no argument. Returns a Promise that resolves either way (it never rejects: errors go to
 * the callback, else to errorHandler).
 * @param {(err?: Error) => void} [callback]
 * @returns {Promise<void>}
 */
StatsD.prototype.flush = function flush(callback) {
  const core = this._core;
  let err = null;
  if (core.sink && !core.sink.closed) {
    const info = core.sink.flush(typeof callback !== 'function');
    if (info) err = toError(info);
    if (core.stream) core.pump();
  } else if (core.error && !core.mock) {
    err = core.error;
    if (typeof callback !== 'function' && this.errorHandler) this.errorHandler(err);
  }
  if (typeof callback === 'function') {
    if (err) callback(err);
    else callback();
  }
  return Promise.resolve();
};

/**
 * Flush one last time and stop the flusher thread (for this client and its children). Later
 * calls are no-ops. The callback gets the final flush's error, or no argument; the Promise
 * never rejects.
 * @param {(err?: Error) => void} [callback]
 * @returns {Promise<void>}
 */
StatsD.prototype.close = function close(callback) {
  const core = this._core;
  let err = null;
  let waitStream = false;
  if (core.sink && !core.sink.closed) {
    const info = core.sink.close(typeof callback !== 'function');
    if (info) err = toError(info);
    if (core.stream) {
      core.pump();
      if (core.timer) clearInterval(core.timer);
      // hot-shots destroys the stream; ending it lets what was written reach its reader.
      if (!core.stream.writableEnded) core.stream.end();
      // As hot-shots: the callback once the stream has closed (at most 1 s from now).
      waitStream = !core.stream.closed && !core.stream.destroyed;
      if (!waitStream && core.unlisten) core.unlisten();
    }
  }
  core.closed = true;
  untrack(core.ref);
  this._fast.clear();
  this._fastGauge.clear();
  if (core.cells) core.cells.series.clear();
  if (waitStream) return this._closeStream(callback, err);
  if (typeof callback === 'function') {
    if (err) callback(err);
    else callback();
  }
  return Promise.resolve();
};

/**
 * The rest of close() for a `stream` client: wait for the stream's 'close' (at most 1 s), then
 * remove this client's listeners and call back.
 * @param {unknown} callback @param {Error | null} err @returns {Promise<void>}
 */
StatsD.prototype._closeStream = function _closeStream(callback, err) {
  const core = this._core;
  const stream = core.stream;
  return new Promise((resolve) => {
    let done = false;
    /** @param {boolean} closed */
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.removeListener('close', onClose);
      // A stream still open keeps this client's error listener until it closes.
      if (closed) { if (core.unlisten) core.unlisten(); } else stream.once('close', () => { if (core.unlisten) core.unlisten(); });
      if (typeof callback === 'function') {
        if (err) callback(err);
        else callback();
      }
      resolve();
    };
    const onClose = () => finish(true);
    const timer = setTimeout(() => finish(false), 1000);
    timer.unref();
    stream.on('close', onClose);
  });
};

/** The sink's counters (all zero in mock mode). */
StatsD.prototype.stats = function stats() {
  const core = this._core;
  return toStats(core.sink, core.cells);
};

/** @param {any} sink @param {Cells | null} cells */
function toStats(sink, cells) {
  const s = sink ? sink.stats() : null;
  return {
    flushes: s ? s.flushes : 0,
    packetsSent: s ? s.packetsSent : 0,
    bytesSent: s ? s.bytesSent : 0,
    linesSent: s ? s.linesSent : 0,
    sendErrors: s ? s.sendErrors : 0,
    reconnects: s ? s.reconnects : 0,
    connectErrors: s ? s.connectErrors : 0,
    linesDroppedBacklog: s ? s.linesDroppedBacklog : 0,
    backlogBytes: s ? s.backlogBytes : 0,
    linesDroppedOversize: s ? s.linesDroppedOversize : 0,
    encodeErrors: 0,
    droppedCardinality: s ? s.droppedCardinality : 0,
    droppedSamples: s ? s.droppedLines : 0,
    droppedProtocolVersions: 0,
    registered: s ? s.registered : 0,
    callbackPanics: 0,
    seriesRefused: cells ? cells.refused : 0,
  };
}

// ---- codec -------------------------------------------------------------------------------------

/**
 * Tags as `[{key, value}]` for the native encoder: from an object (`{k: 'v'}`, `null` values
 * make bare tags) or an array of `"k:v"` / `"bare"` strings or `[key, value]` pairs.
 * @param {unknown} tags
 * @returns {{key: string, value?: string}[]}
 */
function normalizeTags(tags) {
  if (tags === undefined || tags === null) return [];
  /** @type {{key: string, value?: string}[]} */
  const out = [];
  if (Array.isArray(tags)) {
    for (const t of tags) {
      if (Array.isArray(t) && typeof t[0] === 'string') {
        out.push(t[1] === undefined || t[1] === null ? { key: t[0] } : { key: t[0], value: String(t[1]) });
        continue;
      }
      if (typeof t !== 'string') throw fail(TypeError, 'invalid_tag', 'array tags must be "key:value" strings or [key, value] pairs');
      const i = t.indexOf(':');
      out.push(i > 0 ? { key: t.slice(0, i), value: t.slice(i + 1) } : { key: t });
    }
  } else if (typeof tags === 'object') {
    for (const [k, v] of Object.entries(/** @type {object} */ (tags))) {
      out.push(v === undefined || v === null ? { key: k } : { key: k, value: String(v) });
    }
  } else {
    throw fail(TypeError, 'invalid_tag', 'tags must be an object or an array of "key:value" strings');
  }
  return out;
}

/**
 * Encode one StatsD line (two for a negative absolute gauge in etsy and telegraf).
 * @param {string} name
 * @param {number | bigint | string} value
 * @param {string} type `c g ms h s d`
 * @param {import('./index').EncodeOptions} [options]
 */
function encode(name, value, type, options) {
  const o = options || {};
  /** @type {import('../index').EncodeLineOptions} */
  const n = {};
  if (o.dialect !== undefined) n.dialect = o.dialect;
  if (o.prefix !== undefined) n.prefix = o.prefix;
  if (o.globalTags !== undefined) n.globalTags = normalizeTags(o.globalTags);
  if (o.tags !== undefined) n.tags = normalizeTags(o.tags);
  if (o.sampleRate !== undefined && o.sampleRate !== null) {
    checkNumber(o.sampleRate, 'sampleRate');
    n.sampleRate = o.sampleRate;
  }
  if (o.delta !== undefined) n.delta = Boolean(o.delta);
  if (o.hostnameAsTag !== undefined) n.hostnameAsTag = o.hostnameAsTag;
  if (typeof name !== 'string') throw fail(TypeError, 'invalid_name', 'name must be a string');
  if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'string') {
    throw fail(TypeError, 'invalid_value', 'value must be a number, bigint or string');
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw fail(RangeError, 'non_finite_value', 'value is NaN or infinite');
  }
  return native.encodeLine(name, value, String(type), n);
}

/**
 * Decode StatsD text or bytes.
 * @param {string | Uint8Array} input
 * @param {{prefix?: string}} [options]
 */
function decode(input, options) {
  let buf = input;
  if (typeof input !== 'string') {
    if (!(input instanceof Uint8Array)) {
      throw fail(TypeError, 'invalid_argument', 'input must be a string, Buffer or Uint8Array');
    }
    buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  }
  const prefix = options && options.prefix !== undefined && options.prefix !== null ? String(options.prefix) : null;
  return /** @type {any} */ (native.decodeRaw(/** @type {any} */ (buf), prefix));
}

// ---- the typed catalog -----------------------------------------------------------------------

/** The catalog rows' method names: `ConnectionStarted` -> `connectionStarted`. */
const IDENTS = Object.keys(Metric).filter((k) => typeof /** @type {any} */ (Metric)[k] === 'number');
/** @param {string} ident */
function methodName(ident) {
  if (ident === 'ProtocolVersionUsed') return 'protocolUsed';
  return ident[0].toLowerCase() + ident.slice(1);
}

/** @param {unknown} id */
function catalogRow(id) {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= CATALOG.length) {
    throw fail(RangeError, 'unknown_metric', `unknown metric id ${String(id)} (the catalog has ids 0..=${CATALOG.length - 1})`);
  }
  return CATALOG[id];
}

/** Bound on distinct protocol versions (`protocol.<version>.used`). */
const MAX_VERSIONS = 64;

/** @param {unknown} n @param {string} what */
function checkCount(n, what) {
  checkNumber(n, what);
  if (!Number.isInteger(n) || /** @type {number} */ (n) < 0) {
    throw fail(RangeError, 'not_integer', `${what} must be a non-negative integer`);
  }
}

/** @param {unknown} n @param {string} what */
function checkInteger(n, what) {
  checkNumber(n, what);
  if (!Number.isSafeInteger(n)) throw fail(RangeError, 'not_integer', `${what} must be an integer`);
}

/**
 * `[head, tail]` of a catalog line, from the native encoder (so the wire is the core's).
 * @param {string} name @param {'c' | 'g'} type @param {import('../index').EncodeLineOptions} enc
 * @returns {[string, string]}
 */
function lineParts(name, type, enc) {
  const line = native.encodeLine(name, 0, type, enc);
  const at = line.indexOf(':0|');
  return [line.slice(0, at + 1), line.slice(at + 2)];
}

/** Cells per catalog row: counters 1, gauges 4. */
const CATALOG_CELLS = 4;

/**
 * The typed ROS catalog: one method per catalog row. Each row owns fixed cells: a counter call
 * is one index and one add.
 */
class RealmMetrics {
  /** @param {import('./index').RealmMetricsOptions} [options] */
  constructor(options) {
    const o = options || {};
    const dialect = o.dialect || 'etsy';
    let prefix = o.prefix;
    /** @type {import('../index').EncodeLineOptions} */
    const enc = { dialect };
    if (o.hostnameAsTag) {
      if (prefix === undefined) prefix = 'realm';
      enc.hostnameAsTag = NativeSink.hostname();
    }
    if (prefix === undefined) prefix = NativeSink.defaultPrefix();
    enc.prefix = prefix;
    if (o.globalTags) enc.globalTags = normalizeTags(o.globalTags);
    // Validates the prefix, the tags and the dialect (throws with a code).
    lineParts('x', 'c', enc);
    /** @type {import('../index').NativeSinkOptions} */
    const n = {};
    if (o.protocol === 'uds' || o.protocol === 'stream' || (o.path !== undefined && o.protocol !== 'tcp')) {
      n.protocol = o.protocol === 'stream' ? 'stream' : 'uds';
      n.path = o.path;
    } else {
      n.protocol = o.protocol === 'tcp' ? 'tcp' : 'udp';
      n.host = o.host === undefined ? 'localhost' : String(o.host);
      n.port = o.port === undefined ? 8125 : checkPort(o.port);
    }
    if (o.flushInterval !== undefined) {
      checkNumber(o.flushInterval, 'flushInterval');
      n.flushIntervalMs = o.flushInterval;
    }
    if (o.maxPayload !== undefined) {
      checkNumber(o.maxPayload, 'maxPayload');
      if (!Number.isInteger(o.maxPayload) || o.maxPayload < 0) {
        throw fail(RangeError, 'invalid_config', `maxPayload must be an integer >= 0, got ${o.maxPayload}`);
      }
    }
    n.maxPayload = o.maxPayload !== undefined ? Math.min(o.maxPayload, 4294967295) : n.protocol === 'uds' ? 8192 : 1432;
    const handler = typeof o.errorHandler === 'function' ? o.errorHandler : undefined;
    this._sink = new NativeSink(n, handler ? (info) => handler(toError(info)) : undefined);
    this._ref = track(this._sink);
    /** The prefix of every name. */
    this.prefix = prefix;
    this._enc = enc;
    this._neg = dialect !== 'dogstatsd';
    this._cells = new Cells(this._sink);
    // Row `id` owns cells [4 id, 4 id + 4) of the first chunk: a counter uses the first.
    const [chunk] = this._cells.alloc(CATALOG.length * CATALOG_CELLS);
    /** @type {Float64Array} */
    this._c = chunk;
    for (const row of CATALOG) {
      if (row.id === Metric.ProtocolVersionUsed) continue;
      const [head, tail] = lineParts(row.name, row.kind === 'counter' ? 'c' : 'g', enc);
      const cell = row.id * CATALOG_CELLS;
      if (row.kind === 'counter') this._sink.counter(cell, head, tail);
      else this._sink.gauge(cell, head, tail, this._neg);
    }
    /** @type {Map<number, Float64Array>} */
    this._versions = new Map();
    this._versionsDropped = 0;
  }

  /** Add `n` (default 1) to the catalog counter `metric`. */
  count(/** @type {number} */ metric, n = 1) {
    const row = catalogRow(metric);
    if (row.kind !== 'counter') throw fail(TypeError, 'wrong_kind', `${row.name} is a gauge, not a counter`);
    if (metric === Metric.ProtocolVersionUsed) {
      throw fail(TypeError, 'templated_metric', 'protocol.<version>.used has the version in its name: use protocolUsed(version)');
    }
    checkCount(n, 'n');
    this._c[metric * CATALOG_CELLS] += n;
  }

  /** Set the catalog gauge `metric` to `value` (an integer). */
  gauge(/** @type {number} */ metric, /** @type {number} */ value) {
    const row = catalogRow(metric);
    if (row.kind !== 'gauge') throw fail(TypeError, 'wrong_kind', `${row.name} is a counter, not a gauge`);
    checkInteger(value, 'value');
    const c = this._c;
    const b = metric * CATALOG_CELLS;
    c[b] += 1;
    c[b + 1] = value;
    c[b + 2] = c[b + 3];
    c[b] += 1;
  }

  /** Change the catalog gauge `metric` by `delta` (an integer). */
  gaugeDelta(/** @type {number} */ metric, /** @type {number} */ delta) {
    const row = catalogRow(metric);
    if (row.kind !== 'gauge') throw fail(TypeError, 'wrong_kind', `${row.name} is a counter, not a gauge`);
    checkInteger(delta, 'delta');
    const c = this._c;
    const b = metric * CATALOG_CELLS;
    // A catalog gauge is absolute: a change to a gauge never set starts from 0.
    if (c[b] === 0) {
      c[b] = 1;
      c[b + 1] = 0;
      c[b + 2] = c[b + 3];
      c[b] = 2;
    }
    c[b + 3] += delta;
  }

  /** Count one connection over sync protocol `version` (`protocol.<version>.used`). */
  protocolUsed(/** @type {number} */ version) {
    let v = this._versions.get(version);
    if (v === undefined) {
      checkCount(version, 'version');
      if (version > 4294967295) throw fail(RangeError, 'not_integer', 'the protocol version must be an integer in 0..=4294967295');
      if (this._sink.closed) return;
      if (this._versions.size >= MAX_VERSIONS) {
        this._versionsDropped += 1;
        return;
      }
      const [head, tail] = lineParts(`protocol.${version}.used`, 'c', this._enc);
      v = this._cells.get('c', head, tail, false);
      if (v === undefined) {
        this._versionsDropped += 1;
        return;
      }
      this._versions.set(version, v);
    }
    v[0] += 1;
  }

  /** Send now. @param {(err?: Error) => void} [callback] @returns {Promise<void>} */
  flush(callback) {
    const info = this._sink.closed ? null : this._sink.flush(typeof callback !== 'function');
    if (typeof callback === 'function') {
      if (info) callback(toError(info));
      else callback();
    }
    return Promise.resolve();
  }

  /** Flush and stop. @param {(err?: Error) => void} [callback] @returns {Promise<void>} */
  close(callback) {
    const info = this._sink.close(typeof callback !== 'function');
    untrack(this._ref);
    this._versions.clear();
    if (typeof callback === 'function') {
      if (info) callback(toError(info));
      else callback();
    }
    return Promise.resolve();
  }

  /** The sink's counters. */
  stats() {
    const s = toStats(this._sink, this._cells);
    s.droppedProtocolVersions = this._versionsDropped;
    return s;
  }
}

// One method per catalog row, named from it: an index and an add.
for (const ident of IDENTS) {
  const id = /** @type {any} */ (Metric)[ident];
  const row = CATALOG[id];
  const name = methodName(ident);
  if (name === 'protocolUsed') continue;
  const proto = /** @type {any} */ (RealmMetrics.prototype);
  const b = id * CATALOG_CELLS;
  if (row.kind === 'counter') {
    proto[name] = function counter(/** @type {number | undefined} */ n) {
      if (n === undefined) this._c[b] += 1;
      else {
        checkCount(n, 'n');
        this._c[b] += n;
      }
    };
  } else {
    proto[name] = function gauge(/** @type {number} */ value) {
      checkInteger(value, 'value');
      const c = this._c;
      c[b] += 1;
      c[b + 1] = value;
      c[b + 2] = c[b + 3];
      c[b] += 1;
    };
  }
}

module.exports = StatsD;
module.exports.StatsD = StatsD;
module.exports.default = StatsD;
module.exports.CHECKS = CHECKS;
module.exports.RealmMetrics = RealmMetrics;
module.exports.Metric = Metric;
module.exports.catalog = CATALOG;
module.exports.encode = encode;
module.exports.decode = decode;
module.exports.methodName = methodName;
