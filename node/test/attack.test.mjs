// Findings of the attack run on the Node package (items 4, 8, 11): bounded name caches, counts
// that survive process.exit() / a crash / SIGTERM, and port validation.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { receiver, pkg } from './helpers.mjs';

const require = createRequire(import.meta.url);
const entry = fileURLToPath(new URL('../lib/index.js', import.meta.url));
const { StatsD, RealmMetrics } = pkg;

function runChild(source, env = {}, args = [], timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '-e', source], {
      env: { ...process.env, ENTRY: entry, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child did not exit within ${timeoutMs} ms: ${stderr}`)); }, timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

test('item 4: names refused past the native cap are not cached; caches are bounded and cleared on close', async () => {
  const source = `
    const { StatsD, RealmMetrics } = require(process.env.ENTRY);
    const mb = () => { global.gc(); global.gc(); const m = process.memoryUsage(); return { heap: m.heapUsed / 1048576, rss: m.rss / 1048576 }; };
    const c = new StatsD({ host: '127.0.0.1', port: 9, bufferFlushInterval: 0, errorHandler: () => {} });
    const m = new RealmMetrics({ host: '127.0.0.1', port: 9, prefix: 'x', flushInterval: 0 });
    // Warm up (code, the first 10,000 names the native side accepts).
    for (let i = 0; i < 12000; i += 1) { c.increment('warm.' + i); c.gauge('warmg.' + i, 1); c.timing('warmt.' + i, 1); }
    const before = mb();
    for (let i = 0; i < 200000; i += 1) {
      const s = 'n.' + i;
      c.increment(s); c.increment(s); c.increment(s, 2, ['k:' + (i % 7)]);
      c.gauge('g.' + i, i); c.timing('t.' + i, 1);
      m.protocolUsed(1000 + i);
    }
    const after = mb();
    const st = c.stats();
    const sizes = c._core.cells.series.size + c._fast.size + c._fastGauge.size;
    c.close(); m.close();
    const sizesClosed = c._core.cells.series.size + c._fast.size + c._fastGauge.size + m._versions.size;
    process.stdout.write(JSON.stringify({ before, after, dropped: st.droppedCardinality, registered: st.registered,
      versionsDropped: m.stats().droppedProtocolVersions, versions: m._versions.size, sizes, sizesClosed }));
  `;
  const { code, stdout, stderr } = await runChild(source, {}, ['--expose-gc'], 120000);
  assert.equal(code, 0, stderr);
  const r = JSON.parse(stdout);
  console.log(`item 4 figures: ${JSON.stringify(r)}`);
  const heap = r.after.heap - r.before.heap;
  const rss = r.after.rss - r.before.rss;
  assert.ok(heap < 4, `heap grew by ${heap.toFixed(1)} MB for 200,000 refused names`);
  assert.ok(rss < 24, `RSS grew by ${rss.toFixed(1)} MB for 200,000 refused names`);
  // Every refused name is counted (200,000 x 4 new series past the cap, at least once each).
  assert.ok(r.dropped >= 800000, `droppedCardinality ${r.dropped}`);
  assert.ok(r.versionsDropped >= 199000, `droppedProtocolVersions ${r.versionsDropped}`);
  assert.ok(r.sizes <= 4 * 10000 * 2, `JS caches hold ${r.sizes} entries`);
  assert.equal(r.sizesClosed, 0);
});

const COUNTING = `
  const { StatsD, RealmMetrics } = require(process.env.ENTRY);
  const c = new StatsD({ host: '127.0.0.1', port: Number(process.env.PORT), bufferFlushInterval: 60000 });
  const m = new RealmMetrics({ host: '127.0.0.1', port: Number(process.env.PORT), prefix: 'realm.x', flushInterval: 60000 });
  for (let i = 0; i < 1234; i += 1) { c.increment('end.hits'); m.sessionStarted(); }
  c.gauge('end.g', 7);
`;

async function endsWith(tail, env = {}) {
  const r = await receiver();
  const out = await runChild(COUNTING + tail, { PORT: String(r.port), ...env });
  await r.until(() => r.counts().get('end.hits') === 1234 && r.counts().get('realm.x.session.started') === 1234, 5000)
    .catch((e) => { throw new Error(`${e.message}; child: ${JSON.stringify(out)}`); });
  await new Promise((res) => setTimeout(res, 100));
  const counts = r.counts();
  await r.close();
  return { ...out, counts };
}

test('item 8: counts made right before process.exit(3) arrive exactly; exit code 3', async () => {
  const { code, signal, counts, stderr } = await endsWith(`process.exit(3);`);
  assert.equal(signal, null);
  assert.equal(code, 3, stderr);
  assert.equal(counts.get('end.hits'), 1234);
  assert.equal(counts.get('realm.x.session.started'), 1234);
});

test('item 8: counts made right before an uncaught throw arrive exactly; the process still crashes the same way', async () => {
  const { code, signal, counts, stderr } = await endsWith(`setTimeout(() => { throw new Error('boom from the child'); }, 1);`);
  assert.equal(signal, null);
  assert.equal(code, 1);
  assert.match(stderr, /Error: boom from the child/);
  assert.equal(counts.get('end.hits'), 1234);
  assert.equal(counts.get('realm.x.session.started'), 1234);
  // A synchronous throw at the top level too.
  const sync = await endsWith(`throw new Error('sync boom');`);
  assert.equal(sync.code, 1);
  assert.match(sync.stderr, /Error: sync boom/);
  assert.equal(sync.counts.get('end.hits'), 1234);
});

test('item 8: counts made right before SIGTERM / SIGINT arrive exactly; the process dies of the signal', async () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    const { code, signal, counts, stderr } = await endsWith(`
      setInterval(() => {}, 1000);  // keep alive: only the signal ends this process
      setTimeout(() => process.kill(process.pid, '${sig}'), 10);
    `);
    assert.equal(signal, sig, `${sig}: code ${code}, ${stderr}`);
    assert.equal(code, null);
    assert.equal(counts.get('end.hits'), 1234);
    assert.equal(counts.get('realm.x.session.started'), 1234);
  }
});

test('item 8: a user SIGTERM listener keeps control; the exit flush keeps no handle alive', async () => {
  const { code, signal, counts, stdout } = await endsWith(`
    const keep = setInterval(() => {}, 1000);
    process.on('SIGTERM', () => { process.stdout.write('mine'); clearInterval(keep); setTimeout(() => process.exit(5), 20); });
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), 10);
  `);
  assert.equal(signal, null);
  assert.equal(code, 5);
  assert.equal(stdout, 'mine');
  assert.equal(counts.get('end.hits'), 1234);
  // Nothing left to do: the process ends by itself promptly (no ref'd handle from the package).
  const started = Date.now();
  const idle = await runChild(COUNTING, { PORT: '9' });
  assert.equal(idle.code, 0, idle.stderr);
  assert.ok(Date.now() - started < 5000);
});

test('item 11: ports outside 1..65535 and non-integer ports are rejected with a code', () => {
  for (const port of [0, -1, 65536, 8125.5, 1.0000001, NaN, Infinity, 2 ** 32]) {
    for (const make of [
      () => new StatsD({ host: '127.0.0.1', port }),
      () => new RealmMetrics({ host: '127.0.0.1', port }),
    ]) {
      assert.throws(make, (e) => e instanceof RangeError && /^ERR_REALM_METRICS_(INVALID_CONFIG|NON_FINITE_VALUE)$/.test(e.code) && /port/.test(e.message),
        `port ${port}`);
    }
  }
  for (const port of ['8125', null, {}]) {
    // StatsD: a null port means "unset" (8125), as in hot-shots.
    if (port !== null) assert.throws(() => new StatsD({ host: '127.0.0.1', port }), (e) => e instanceof TypeError && typeof e.code === 'string' && /port/.test(e.message), `port ${String(port)}`);
    assert.throws(() => new RealmMetrics({ host: '127.0.0.1', port }), (e) => e instanceof TypeError && typeof e.code === 'string' && /port/.test(e.message), `port ${String(port)}`);
  }
  // The native constructor too (it is exported).
  const { NativeEmitter } = require('../index.js');
  assert.throws(() => new NativeEmitter({ host: '127.0.0.1', port: 0 }), (e) => e.code === 'ERR_REALM_METRICS_INVALID_CONFIG');
  assert.throws(() => new NativeEmitter({ host: '127.0.0.1', port: 8125.5 }), (e) => e.code === 'ERR_REALM_METRICS_INVALID_CONFIG');
  // Valid edges still work.
  for (const port of [1, 65535]) {
    new StatsD({ host: '127.0.0.1', port }).close();
    new RealmMetrics({ host: '127.0.0.1', port }).close();
  }
});
