// Exact totals from the main thread and two worker threads at once; clean process exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { receiver } from './helpers.mjs';

const entry = fileURLToPath(new URL('../lib/index.js', import.meta.url));
const TOTAL = 1_000_000;

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { StatsD, RealmMetrics } = require(workerData.entry);
const c = new StatsD({ host: '127.0.0.1', port: workerData.port, bufferFlushInterval: 200 });
const r = new RealmMetrics({ host: '127.0.0.1', port: workerData.port, prefix: 'realm.t', flushInterval: 200 });
parentPort.once('message', async () => {
  for (let i = 0; i < workerData.n; i += 1) { c.increment('hits'); r.connectionStarted(); }
  await c.close();
  await r.close();
  parentPort.postMessage('done');
});
parentPort.postMessage('ready');
`;

test(`${TOTAL} increments from the main thread and 2 workers: exact totals at the receiver`, async () => {
  const r = await receiver();
  const { StatsD, RealmMetrics } = await import('../lib/index.js').then((m) => m.default);
  const per = Math.floor(TOTAL / 3);
  const mainN = TOTAL - 2 * per;
  const workers = [0, 1].map(() => new Worker(workerSource, { eval: true, workerData: { entry, port: r.port, n: per } }));
  await Promise.all(workers.map((w) => new Promise((res) => w.once('message', res))));
  const done = workers.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); }));
  const c = new StatsD({ host: '127.0.0.1', port: r.port, bufferFlushInterval: 200 });
  const rm = new RealmMetrics({ host: '127.0.0.1', port: r.port, prefix: 'realm.t', flushInterval: 200 });
  for (const w of workers) w.postMessage('go');
  for (let i = 0; i < mainN; i += 1) { c.increment('hits'); rm.connectionStarted(); }
  await c.close();
  await rm.close();
  await Promise.all(done);
  await Promise.all(workers.map((w) => w.terminate()));
  await r.until(() => r.counts().get('hits') === TOTAL && r.counts().get('realm.t.connection.started') === TOTAL, 10000);
  const counts = r.counts();
  assert.equal(counts.get('hits'), TOTAL);
  assert.equal(counts.get('realm.t.connection.started'), TOTAL);
  await r.close();
});

function runChild(source, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['-e', source], { env: { ...process.env, ENTRY: entry, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child did not exit within ${timeoutMs} ms`)); }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    });
  });
}

test('a process that never calls close() exits by itself (the flusher keeps nothing alive)', async () => {
  const r = await receiver();
  const source = `
    const { StatsD, RealmMetrics } = require(process.env.ENTRY);
    const c = new StatsD({ host: '127.0.0.1', port: Number(process.env.PORT), errorHandler: () => {} });
    const m = new RealmMetrics({ host: '127.0.0.1', port: Number(process.env.PORT), prefix: 'realm.x' });
    for (let i = 0; i < 1000; i += 1) { c.increment('exit.hits'); m.sessionStarted(); }
    c.timing('exit.t', 5);
  `;
  const { code, signal, stderr, ms } = await runChild(source, r.port, 10000);
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.ok(ms < 10000);
  // Not closed, yet not lost: the emitter is flushed when the environment is torn down.
  await r.until(() => r.counts().get('exit.hits') === 1000 && r.counts().get('realm.x.session.started') === 1000);
  await r.close();
});

test('a worker that never calls close() ends cleanly', async () => {
  const r = await receiver();
  const w = new Worker(`
    const { workerData } = require('node:worker_threads');
    const { StatsD } = require(workerData.entry);
    const c = new StatsD({ host: '127.0.0.1', port: workerData.port });
    for (let i = 0; i < 100; i += 1) c.increment('w.hits');
  `, { eval: true, workerData: { entry, port: r.port } });
  const code = await new Promise((res, rej) => { w.once('exit', res); w.once('error', rej); });
  assert.equal(code, 0);
  await r.close();
});

test('a worker terminated mid-count: everything it counted before dying is sent', async () => {
  const r = await receiver();
  // The worker counts forever; after each increment it publishes how many it made in shared
  // memory. terminate() stops it between any two instructions: the total sent must be that
  // number, or one more (stopped between the increment and the publish).
  const progress = new Float64Array(new SharedArrayBuffer(8));
  const w = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads');
    const { StatsD, RealmMetrics } = require(workerData.entry);
    const c = new StatsD({ host: '127.0.0.1', port: workerData.port, bufferFlushInterval: 200 });
    const m = new RealmMetrics({ host: '127.0.0.1', port: workerData.port, prefix: 'realm.k', flushInterval: 200 });
    const p = workerData.progress;
    parentPort.postMessage('counting');
    for (let i = 1; ; i += 1) { c.increment('killed.hits'); m.sessionStarted(); p[0] = i; }
  `, { eval: true, workerData: { entry, port: r.port, progress } });
  await new Promise((res) => w.once('message', res));
  while (progress[0] < 200000) await new Promise((res) => setTimeout(res, 5));
  await w.terminate();
  const n = progress[0];
  const ok = (v) => v === n || v === n + 1;
  await r.until(() => ok(r.counts().get('killed.hits')) && ok(r.counts().get('realm.k.session.started')), 5000);
  await new Promise((res) => setTimeout(res, 300));
  const counts = r.counts();
  assert.ok(ok(counts.get('killed.hits')), `sent ${counts.get('killed.hits')}, counted ${n}`);
  assert.ok(ok(counts.get('realm.k.session.started')), `sent ${counts.get('realm.k.session.started')}, counted ${n}`);
  await r.close();
});
