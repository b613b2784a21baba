// ns per increment from JavaScript, implementations alternated in rounds in one process, with
// delivery counted at a local dgram receiver. Usage: node bench/increment.mjs [rounds]
//
// Timed per round: the calls on the calling thread, plus flush() for realm-metrics (so what was
// counted is in datagrams). hot-shots' default mode hands each datagram to libuv, which sends it
// after the loop: that work is not in its figure, which is therefore a lower bound.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StatsD, RealmMetrics } = require('../lib/index.js');
const HotShots = require('hot-shots');

const ROUNDS = Number(process.argv[2] || 7);

// The receiver runs in its own process, so it drains the socket while this one is busy.
const receiverSource = `
const dgram = require('node:dgram');
const got = new Map();
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 * 1024 * 1024 });
s.on('message', (msg) => {
  for (const l of msg.toString().split('\\n')) {
    const m = /^([^:]+):(\\d+)\\|c/.exec(l);
    if (m) got.set(m[1], (got.get(m[1]) || 0) + Number(m[2]));
  }
});
s.bind(0, '127.0.0.1', () => process.send({ port: s.address().port }));
process.on('message', () => { process.send({ got: [...got] }); s.close(); process.disconnect(); });
`;
const child = spawn(process.execPath, ['-e', receiverSource], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const { port } = await new Promise((r) => child.once('message', r));
const tick = () => new Promise((r) => setTimeout(r, 5));

const realmStatsd = new StatsD({ host: '127.0.0.1', port, prefix: 'rs.' });
const realmTyped = new RealmMetrics({ host: '127.0.0.1', port, prefix: 'rt' });
const hsDefault = new HotShots({ host: '127.0.0.1', port, prefix: 'hd.' });
const hsBuffered = new HotShots({ host: '127.0.0.1', port, prefix: 'hb.', maxBufferSize: 1432 });
const obj = { n: 0 };

const impls = [
  { name: "realm-metrics StatsD#increment('connection.started')", key: 'rs.connection.started', n: 2_000_000,
    run: async (n) => { for (let i = 0; i < n; i += 1) realmStatsd.increment('connection.started'); await realmStatsd.flush(); } },
  { name: 'realm-metrics RealmMetrics#connectionStarted()', key: 'rt.connection.started', n: 2_000_000,
    run: async (n) => { for (let i = 0; i < n; i += 1) realmTyped.connectionStarted(); await realmTyped.flush(); } },
  { name: 'hot-shots (default)', key: 'hd.connection.started', n: 20_000,
    run: async (n) => { for (let i = 0; i < n; i += 1) hsDefault.increment('connection.started'); } },
  { name: 'hot-shots (maxBufferSize: 1432)', key: 'hb.connection.started', n: 100_000,
    run: async (n) => { for (let i = 0; i < n; i += 1) hsBuffered.increment('connection.started'); } },
  { name: 'obj.n++ (floor)', key: null, n: 20_000_000,
    run: async (n) => { for (let i = 0; i < n; i += 1) obj.n++; } },
];

const samples = new Map(impls.map((i) => [i.name, []]));
const calls = new Map(impls.map((i) => [i.name, 0]));
// Warm-up round, not counted in the times (its calls are counted for delivery).
for (const round of [-1, ...Array.from({ length: ROUNDS }, (_, i) => i)]) {
  for (const impl of round % 2 === 0 ? impls : [...impls].reverse()) {
    const t0 = process.hrtime.bigint();
    await impl.run(impl.n);
    const ns = Number(process.hrtime.bigint() - t0) / impl.n;
    calls.set(impl.name, calls.get(impl.name) + impl.n);
    if (round >= 0) samples.get(impl.name).push(ns);
    await tick();
  }
}

await realmStatsd.close();
await realmTyped.close();
await new Promise((r) => hsBuffered.close(r));
await new Promise((r) => hsDefault.close(r));
// Let the receiver drain, then ask for its totals.
await new Promise((r) => setTimeout(r, 1000));
const got = new Map((await new Promise((r) => { child.once('message', r); child.send('report'); })).got);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const base = median(samples.get(impls[0].name));
const rows = impls.map((i) => {
  const ns = median(samples.get(i.name));
  const delivered = i.key === null ? '-' : `${((100 * (got.get(i.key) || 0)) / calls.get(i.name)).toFixed(2)}%`;
  return { impl: i.name, 'ns/call (median)': ns.toFixed(1), 'x realm StatsD': (ns / base).toFixed(2), delivered };
});
console.log(`node ${process.version}, ${ROUNDS} rounds (alternating order), median of rounds`);
console.table(rows);
