// Decoding throughput of the wasm package against plain JS StatsD parsers, in one Node process:
// two minimal parsers written here (split, indexOf), the parser of the Etsy statsd daemon (npm
// `statsd`, its own packet handler run in process: it parses and aggregates each line), and the
// native decode of the Node package (node/, when its addon is built).
// Usage: node wasm/bench/decode.mjs [lines] [rounds]   (build with wasm/build.sh first)
//
// The input: `lines` realistic ROS lines (catalog gauges and counters with a host, protocol
// version counters, a few timers with a sample rate, some DogStatsD and Telegraf tags), packed
// into datagrams of at most 1432 bytes as an emitter sends them. Every implementation decodes
// every datagram (a string, as a WebSocket text message delivers it) once per round; the
// implementations take turns on slices of 1000 datagrams. The table shows the median round's
// throughput, and the median and range of the ratios to the indexOf parser within each round.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, '..');
const wasm = require(wasmDir);

const LINES = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const MAX_PAYLOAD = 1432;

// --- input -------------------------------------------------------------------------------------

function makeLines(n) {
  let seed = 42;
  const rand = (k) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  const gauges = ['connection.online', 'session.online', 'realms.open', 'protocol.bytes.received', 'protocol.bytes.sent'];
  const counters = ['session.started', 'session.terminated', 'session.failed', 'connection.started',
    'connection.terminated', 'connection.failed', 'protocol.bytes.received', 'protocol.bytes.sent',
    'authentication.failed', 'permission.denied', 'protocol.violated', 'client.unsyncable'];
  const out = [];
  for (let i = 0; i < n; i++) {
    const host = `realm.worker-${rand(16)}`;
    const r = rand(100);
    let line;
    if (r < 35) line = `${host}.${gauges[rand(gauges.length)]}:${rand(5000)}|g`;
    else if (r < 75) line = `${host}.${counters[rand(counters.length)]}:${1 + rand(20)}|c`;
    else if (r < 82) line = `${host}.protocol.${rand(3) + 24}.used:1|c`;
    else if (r < 88) line = `${host}.sync.upload.latency:${rand(900)}.${rand(10)}|ms|@0.5`;
    else if (r < 94) line = `${host}.connection.started:1|c|#env:prod,region:eu-${rand(3)}`;
    else line = `${host}.session.online,env=prod,shard=${rand(8)}:${rand(300)}|g`;
    out.push(line);
  }
  return out;
}

function pack(lines) {
  const packets = [];
  let cur = '';
  for (const l of lines) {
    if (cur.length === 0) cur = l;
    else if (cur.length + 1 + l.length <= MAX_PAYLOAD) cur += '\n' + l;
    else {
      packets.push(cur);
      cur = l;
    }
  }
  if (cur.length > 0) packets.push(cur);
  return packets;
}

// --- plain JS parsers (name, value, type, rate per line) ---------------------------------------

function parseSplit(packet) {
  const out = [];
  for (const line of packet.split('\n')) {
    if (line.length === 0) continue;
    const fields = line.split('|');
    const head = fields[0];
    const colon = head.lastIndexOf(':');
    const name = head.slice(0, colon);
    const value = parseFloat(head.slice(colon + 1));
    const type = fields[1];
    let rate = 1;
    for (let k = 2; k < fields.length; k++) {
      if (fields[k][0] === '@') rate = parseFloat(fields[k].slice(1));
    }
    out.push({ name, value, type, rate });
  }
  return out;
}

function parseIndexOf(packet) {
  const out = [];
  let pos = 0;
  const len = packet.length;
  while (pos < len) {
    let end = packet.indexOf('\n', pos);
    if (end === -1) end = len;
    const colon = packet.indexOf(':', pos);
    if (colon !== -1 && colon < end) {
      const bar = packet.indexOf('|', colon);
      if (bar !== -1 && bar < end) {
        let bar2 = packet.indexOf('|', bar + 1);
        if (bar2 === -1 || bar2 > end) bar2 = end;
        const name = packet.slice(pos, colon);
        const value = +packet.slice(colon + 1, bar);
        const type = packet.slice(bar + 1, bar2);
        let rate = 1;
        if (bar2 < end && packet.charCodeAt(bar2 + 1) === 64 /* @ */) {
          let bar3 = packet.indexOf('|', bar2 + 1);
          if (bar3 === -1 || bar3 > end) bar3 = end;
          rate = +packet.slice(bar2 + 2, bar3);
        }
        out.push({ name, value, type, rate });
      }
    }
    pos = end + 1;
  }
  return out;
}

// --- the Etsy statsd daemon's parser ------------------------------------------------------------

// Starts stats.js of the `statsd` package in this process with a server module that opens no
// socket (bench/statsd-capture.cjs) and no backend, and returns its packet handler. Its management
// console listens on a Unix socket in a temp dir; a flush interval of days keeps flushes out.
async function etsyStatsd() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realm-metrics-bench-'));
  const capture = path.join(here, 'statsd-capture.cjs');
  const config = path.join(dir, 'config.js');
  writeFileSync(config, `{ servers: [{ server: ${JSON.stringify(capture)} }], backends: [],
    mgmt_port: ${JSON.stringify(path.join(dir, 'mgmt.sock'))}, flushInterval: 1e9 }`);
  const argv = process.argv;
  process.argv = [argv[0], 'stats.js', config];
  require('statsd/stats.js');
  const handler = await require(capture).handler();
  process.argv = argv;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return handler;
}

// The Node package's decode (its napi addon), if built; REALM_METRICS_ADDON names another build of
// the addon (a `.node` file: then its decodeRaw is called as the package's decode calls it).
function nativeDecode() {
  const node = path.resolve(wasmDir, '..', 'node');
  try {
    const addon = process.env.REALM_METRICS_ADDON;
    if (addon) {
      const raw = require(path.resolve(addon)).decodeRaw;
      return (input) => raw(input, null);
    }
    return require(node).decode;
  } catch (e) {
    console.error(`(native decode skipped: ${e.message.split('\n')[0]})`);
    return null;
  }
}

// --- harness -----------------------------------------------------------------------------------

const lines = makeLines(LINES);
const packets = pack(lines);
const packetBytes = packets.map((p) => Buffer.from(p));
const totalBytes = packets.reduce((n, p) => n + Buffer.byteLength(p), 0);

const columnDecoder = new wasm.ColumnDecoder();
const statsdHandle = await etsyStatsd();
const statsdPackets = packetBytes.map((b) => b); // Buffers, as its UDP server hands them over
const linesIn = packets.map((p) => p.split('\n').length);
const native = nativeDecode();
// Each implementation decodes packets[from..to] (or the same range of packetBytes).
const impls = [
  // It returns nothing: count the lines it was given.
  ['Etsy statsd', (from, to) => { let n = 0; for (let k = from; k < to; k++) { statsdHandle(statsdPackets[k], null); n += linesIn[k]; } return n; }],
  ['JS split', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += parseSplit(packets[k]).length; return n; }],
  ['JS indexOf', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += parseIndexOf(packets[k]).length; return n; }],
  ['wasm decode', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += wasm.decode(packets[k]).metrics.length; return n; }],
  ['wasm decodeColumns', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += wasm.decodeColumns(packets[k]).count; return n; }],
  ['wasm decodeColumns (bytes)', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += wasm.decodeColumns(packetBytes[k]).count; return n; }],
  // Reused views (valid until the next decode()): no typed arrays allocated per packet.
  ['wasm ColumnDecoder', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += columnDecoder.decode(packets[k]).count; return n; }],
  ['wasm ColumnDecoder (bytes)', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += columnDecoder.decode(packetBytes[k]).count; return n; }],
];
if (native !== null) {
  impls.push(['native decode (node)', (from, to) => { let n = 0; for (let k = from; k < to; k++) n += native(packets[k]).metrics.length; return n; }]);
}

// Sanity (and warm-up): every implementation sees every line.
for (const [name, run] of impls) {
  const n = run(0, packets.length);
  if (n !== LINES) throw new Error(`${name} decoded ${n} of ${LINES} lines`);
}

// A round decodes every packet once with every implementation. They take turns on slices of
// 1000 packets (a few milliseconds each), in an order that alternates, so that a change in the
// machine's speed (this one's moves by more than a third, sometimes within a second) falls on
// all of them alike.
const SLICE = 1000;
const times = new Map(impls.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const sums = new Map(impls.map(([name]) => [name, 0]));
  for (let from = 0, turn = round; from < packets.length; from += SLICE, turn++) {
    const to = Math.min(from + SLICE, packets.length);
    const order = turn % 2 === 0 ? impls : [...impls].reverse();
    for (const [name, run] of order) {
      const t0 = process.hrtime.bigint();
      run(from, to);
      sums.set(name, sums.get(name) + Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  for (const [name, t] of sums) times.get(name).push(t);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times.get('JS indexOf'));
// The ratio within each round is the steadier figure: the speed of the machine moves between rounds.
const ratios = (name) => times.get(name).map((t, r) => times.get('JS indexOf')[r] / t);
console.log(`${LINES} lines, ${packets.length} packets of <= ${MAX_PAYLOAD} bytes, ` +
  `${(totalBytes / 1e6).toFixed(1)} MB; median of ${ROUNDS} rounds; node ${process.version}\n`);
const rows = [['implementation', 'MB/s', 'M lines/s', 'vs JS indexOf', 'per round: median', 'range']];
for (const [name] of impls) {
  const t = median(times.get(name));
  const rs = ratios(name);
  rows.push([name, (totalBytes / 1e6 / t).toFixed(0), (LINES / 1e6 / t).toFixed(2), `${(base / t).toFixed(2)}x`,
    `${median(rs).toFixed(2)}x`, `${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}x`]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const [i, r] of rows.entries()) {
  console.log('| ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ') + ' |');
  if (i === 0) console.log('| ' + widths.map((w, c) => (c === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ') + ' |');
}

// The goals (wasm/README.md), as the median over rounds of the ratio within each round. The
// native decoder's goal (2x the split parser) is measured where both are native, by core's
// criterion bench: `cargo bench -p realm-metrics --bench codec -- decode`. The Node addon's row
// above shows what making a JS object per value through Node-API costs on top of it.
const goals = [
  ['wasm ColumnDecoder', 'JS indexOf', 2],
  ['wasm decodeColumns', 'JS indexOf', 1.3],
  ['wasm decode', 'Etsy statsd', 4],
];
console.log('\n| goal | per round: median | range | target |');
console.log('| ---- | ----------------: | ----: | -----: |');
let missed = 0;
for (const [a, b, target] of goals) {
  if (!times.has(a)) continue;
  const rs = times.get(a).map((t, r) => times.get(b)[r] / t);
  const m = median(rs);
  if (m < target) missed++;
  console.log(`| ${a} vs ${b} | ${m.toFixed(2)}x | ${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}x | ` +
    `>= ${target}x${m < target ? ' (missed)' : ''} |`);
}
// The statsd daemon keeps its timers and console open.
process.exit(0);
