// ns per counter call at the call sites real code has, this package against hot-shots (buffered
// and default), alternated in rounds in one process, with delivery counted at a UDP receiver in
// a child process. Usage: node bench/callsites.mjs [rounds]
//
// Call sites: a loop calling a small function; a loop inside an `async` function (a request
// handler); an `await`ed async handler per call (its empty twin's time subtracted); 4 names in
// rotation; 2 clients alternated; 2 worker threads at once (each its own clients; ns per call
// per thread). Implementations: RealmMetrics typed methods, StatsD#increment by name,
// hot-shots with maxBufferSize 1432 ("buffered") and hot-shots defaults (one datagram per call;
// its sends finish after the timed loop, so its figure is a lower bound). Timed: the calls plus
// flush() for this package, so what was counted is in datagrams.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.argv[2] || 5);
const HERE = fileURLToPath(new URL('.', import.meta.url));

const receiverSource = `
const dgram = require('node:dgram');
const got = new Map();
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 64 * 1024 * 1024 });
s.on('message', (msg) => {
  for (const l of msg.toString().split('\\n')) {
    const m = /^([a-z0-9]+)\\.[^:]*:(\\d+)\\|c/.exec(l);
    if (m) got.set(m[1], (got.get(m[1]) || 0) + Number(m[2]));
  }
});
s.bind(0, '127.0.0.1', () => process.send({ port: s.address().port }));
process.on('message', () => { process.send({ got: [...got] }); s.close(); process.disconnect(); });
`;

// The scenarios, as source shared by the main thread and the workers. `make(prefix)` gives the
// clients of one implementation; each scenario returns a function of n (calls) that runs them
// and resolves when done (flushed, for this package).
const SCENARIOS_SOURCE = String.raw`
const NAMES = ['connection.started', 'session.started', 'connection.failed', 'session.failed'];
function makers(port, StatsD, RealmMetrics, HotShots) {
  const o = { host: '127.0.0.1', port };
  return {
    typed: (p) => {
      const a = new RealmMetrics({ ...o, prefix: p + 'a', flushInterval: 0 });
      const b = new RealmMetrics({ ...o, prefix: p + 'b', flushInterval: 0 });
      const calls = [(m) => m.connectionStarted(), (m) => m.sessionStarted(), (m) => m.connectionFailed(), (m) => m.sessionFailed()];
      return { a, b, one: (m) => m.connectionStarted(), rot: calls, flush: async () => { await a.flush(); await b.flush(); }, close: async () => { await a.close(); await b.close(); } };
    },
    byName: (p) => {
      const a = new StatsD({ ...o, prefix: p + 'a', bufferFlushInterval: 0 });
      const b = new StatsD({ ...o, prefix: p + 'b', bufferFlushInterval: 0 });
      const calls = NAMES.map((n) => (c) => c.increment(n));
      return { a, b, one: (c) => c.increment('connection.started'), rot: calls, flush: async () => { await a.flush(); await b.flush(); }, close: async () => { await a.close(); await b.close(); } };
    },
    hsBuffered: (p) => {
      const a = new HotShots({ ...o, prefix: p + 'a', maxBufferSize: 1432 });
      const b = new HotShots({ ...o, prefix: p + 'b', maxBufferSize: 1432 });
      const calls = NAMES.map((n) => (c) => c.increment(n));
      return { a, b, one: (c) => c.increment('connection.started'), rot: calls, flush: async () => { a.flush(); b.flush(); }, close: async () => { await new Promise((r) => a.close(r)); await new Promise((r) => b.close(r)); } };
    },
    hsDefault: (p) => {
      const a = new HotShots({ ...o, prefix: p + 'a' });
      const b = new HotShots({ ...o, prefix: p + 'b' });
      const calls = NAMES.map((n) => (c) => c.increment(n));
      return { a, b, one: (c) => c.increment('connection.started'), rot: calls, flush: async () => {}, close: async () => { await new Promise((r) => a.close(r)); await new Promise((r) => b.close(r)); } };
    },
  };
}
// Each scenario gets the clients' set k and returns a runner of n calls. ONE(x) and R0(x)..R3(x)
// are replaced by each implementation's own call expression (see callsOf), so every call site
// is a direct method call, as in real code.
const SCENARIOS = {
  'small function': (k) => {
    const a = k.a;
    function handle() { ONE(a); }
    return async (n) => { for (let i = 0; i < n; i += 1) handle(); await k.flush(); };
  },
  'loop in an async function': (k) => {
    const a = k.a;
    return async (n) => { await null; for (let i = 0; i < n; i += 1) ONE(a); await k.flush(); };
  },
  '4 names in rotation': (k) => {
    const a = k.a;
    return async (n) => { for (let i = 0; i < n; i += 4) { R0(a); R1(a); R2(a); R3(a); } await k.flush(); };
  },
  '2 clients': (k) => {
    const a = k.a; const b = k.b;
    return async (n) => { for (let i = 0; i < n; i += 2) { ONE(a); ONE(b); } await k.flush(); };
  },
};
// The awaited async handler, and its empty twin (subtracted).
function awaitedRunner(k) {
  const a = k.a;
  async function handler() { ONE(a); }
  async function empty() {}
  return {
    run: async (n) => { for (let i = 0; i < n; i += 1) await handler(); await k.flush(); },
    base: async (n) => { for (let i = 0; i < n; i += 1) await empty(); },
  };
}
`;

/** The scenario source with implementation `key`'s call expressions. */
function sourceOf(key) {
  const typed = ['connectionStarted', 'sessionStarted', 'connectionFailed', 'sessionFailed'];
  const names = ['connection.started', 'session.started', 'connection.failed', 'session.failed'];
  const call = (i) => (key === 'typed' ? (x) => `${x}.${typed[i]}()` : (x) => `${x}.increment('${names[i]}')`);
  return SCENARIOS_SOURCE
    .replace(/ONE\((\w+)\)/g, (_, x) => call(0)(x))
    .replace(/R([0-3])\((\w+)\)/g, (_, i, x) => call(Number(i))(x));
}
// eslint-disable-next-line no-new-func
const defineScenarios = (key) => new Function(`${sourceOf(key)}; return { makers, SCENARIOS, awaitedRunner };`)();

const child = spawn(process.execPath, ['-e', receiverSource], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const { port } = await new Promise((r) => child.once('message', r));

const { createRequire } = await import('node:module');
const require = createRequire(import.meta.url);
const { StatsD, RealmMetrics } = require('../lib/index.js');
const HotShots = require('hot-shots');
// Each implementation gets its own copy of the scenario code, so no call site is shared (and
// made polymorphic) between implementations.
const copies = new Map();
const copy = (key) => {
  if (!copies.has(key)) copies.set(key, defineScenarios(key));
  return copies.get(key);
};

const IMPLS = [
  { key: 'typed', label: 'realm-metrics typed (RealmMetrics#connectionStarted())', n: 4_000_000 },
  { key: 'byName', label: "realm-metrics by name (StatsD#increment('...'))", n: 2_000_000 },
  { key: 'hsBuffered', label: 'hot-shots (maxBufferSize: 1432)', n: 100_000 },
  { key: 'hsDefault', label: 'hot-shots (default)', n: 10_000 },
];

/** calls made per implementation key (for delivery). */
const calls = new Map(IMPLS.map((i) => [i.key, 0]));
/** ns samples: scenario -> impl -> [ns]. */
const samples = new Map();
const record = (scenario, key, ns) => {
  if (!samples.has(scenario)) samples.set(scenario, new Map());
  const m = samples.get(scenario);
  if (!m.has(key)) m.set(key, []);
  m.get(key).push(ns);
};

// Clients per implementation, prefix = key (the receiver sums per prefix).
const clients = new Map(IMPLS.map((i) => [i.key, copy(i.key).makers(port, StatsD, RealmMetrics, HotShots)[i.key](i.key.toLowerCase())]));
const tick = () => new Promise((r) => setTimeout(r, 5));

async function timeRun(run, n) {
  const t0 = process.hrtime.bigint();
  await run(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const floorObj = { n: 0 };
for (const round of [-1, ...Array.from({ length: ROUNDS }, (_, i) => i)]) {
  const order = round % 2 === 0 ? IMPLS : [...IMPLS].reverse();
  for (const name of Object.keys(copy('typed').SCENARIOS)) {
    for (const impl of order) {
      const run = copy(impl.key).SCENARIOS[name](clients.get(impl.key));
      const ns = await timeRun(run, impl.n);
      calls.set(impl.key, calls.get(impl.key) + impl.n);
      if (round >= 0) record(name, impl.key, ns);
      await tick();
    }
  }
  for (const impl of order) {
    const { run, base } = copy(impl.key).awaitedRunner(clients.get(impl.key));
    // Alternate slices of the handler and of its empty twin; the median of the differences.
    const n = Math.min(impl.n, 1_000_000);
    const slice = Math.max(1000, Math.floor(n / 20));
    const diffs = [];
    for (let done = 0; done < n; done += slice) {
      const ns = await timeRun(run, slice);
      const b = await timeRun(base, slice);
      diffs.push(ns - b);
    }
    calls.set(impl.key, calls.get(impl.key) + diffs.length * slice);
    if (round >= 0) record('awaited async handler (minus an empty one)', impl.key, Math.max(0, median(diffs)));
    await tick();
  }
  const f = await timeRun(async (n) => { for (let i = 0; i < n; i += 1) floorObj.n++; }, 20_000_000);
  if (round >= 0) record('floor', 'obj.n++', f);
}

// 2 worker threads at once, each with its own clients of one implementation.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const req = createRequire(workerData.here);
const { StatsD, RealmMetrics } = req('../lib/index.js');
const HotShots = req('hot-shots');
const { makers, SCENARIOS } = new Function(workerData.src + '; return { makers, SCENARIOS };')();
const k = makers(workerData.port, StatsD, RealmMetrics, HotShots)[workerData.key](workerData.prefix);
const run = SCENARIOS['small function'](k);
parentPort.on('message', async (n) => {
  if (n === 'close') { await k.close(); parentPort.postMessage('closed'); return; }
  const t0 = process.hrtime.bigint();
  await run(n);
  parentPort.postMessage(Number(process.hrtime.bigint() - t0) / n);
});
parentPort.postMessage('ready');
`;
const workers = new Map();
for (const impl of IMPLS) {
  const ws = [0, 1].map(() => new Worker(workerSource, {
    eval: true, workerData: { here: HERE + 'x.mjs', src: sourceOf(impl.key), port, key: impl.key, prefix: impl.key.toLowerCase() },
  }));
  await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
  workers.set(impl.key, ws);
}
const ask = (w, msg) => new Promise((r) => { w.once('message', r); w.postMessage(msg); });
for (const round of [-1, ...Array.from({ length: ROUNDS }, (_, i) => i)]) {
  for (const impl of round % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
    const ws = workers.get(impl.key);
    const per = await Promise.all(ws.map((w) => ask(w, impl.n)));
    calls.set(impl.key, calls.get(impl.key) + 2 * impl.n);
    if (round >= 0) record('2 worker threads (per thread)', impl.key, Math.max(...per));
    await tick();
  }
}
for (const ws of workers.values()) {
  for (const w of ws) { await ask(w, 'close'); await w.terminate(); }
}
for (const k of clients.values()) await k.close();
await new Promise((r) => setTimeout(r, 1500));
const got = new Map((await new Promise((r) => { child.once('message', r); child.send('report'); })).got);

console.log(`node ${process.version}, ${ROUNDS} rounds (alternating order), median ns per call`);
const rows = [];
for (const [scenario, m] of samples) {
  if (scenario === 'floor') continue;
  const typed = median(m.get('typed'));
  const byName = median(m.get('byName'));
  const hb = median(m.get('hsBuffered'));
  const hd = median(m.get('hsDefault'));
  rows.push({
    'call site': scenario,
    typed: typed.toFixed(1),
    'by name': byName.toFixed(1),
    'hot-shots buffered': hb.toFixed(0),
    'hot-shots default': hd.toFixed(0),
    'buffered / by name': (hb / byName).toFixed(0) + 'x',
    'buffered / typed': (hb / typed).toFixed(0) + 'x',
  });
}
console.table(rows);
console.log(`floor (obj.n++): ${median(samples.get('floor').get('obj.n++')).toFixed(2)} ns`);
console.table(IMPLS.map((i) => {
  const p = i.key.toLowerCase();
  const g = (got.get(p + 'a') || 0) + (got.get(p + 'b') || 0);
  return { implementation: i.label, calls: calls.get(i.key), received: g, delivered: `${((100 * g) / calls.get(i.key)).toFixed(2)}%` };
}));
