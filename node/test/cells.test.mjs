// The memory JavaScript writes directly (see lib/index.js, src/sink.rs): gauge set/delta order,
// and reads by the flusher thread while the JavaScript thread writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pkg, receiver } from './helpers.mjs';

const { StatsD, RealmMetrics } = pkg;

test('gauges: deltas of a gauge never set go out summed as +N/-N; once set, the absolute value (set plus later deltas), re-sent every flush', async () => {
  const r = await receiver();
  const c = new StatsD({ host: '127.0.0.1', port: r.port, bufferFlushInterval: 0 });
  c.gaugeDelta('d', 5);
  c.gaugeDelta('d', 2);
  c.gauge('s', 10);
  c.gaugeDelta('s', 3);
  c.gauge('s', 1);
  c.gaugeDelta('s', 2);
  await c.flush();
  await r.until(() => r.lines.length >= 2);
  assert.deepEqual(r.lines.sort(), ['d:+7|g', 's:3|g']);
  r.lines.length = 0;
  c.gaugeDelta('d', -9);
  c.gaugeDelta('s', -4);
  await c.flush();
  await r.until(() => r.lines.length >= 2);
  assert.deepEqual(r.lines.sort(), ['d:-9|g', 's:-1|g']);
  r.lines.length = 0;
  // Nothing new: the set gauge is sent again, the delta-only one is not.
  await c.close();
  await r.until(() => r.lines.length >= 1);
  await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(r.lines, ['s:-1|g']);
  await r.close();
});

test('the flusher reads while JavaScript writes (1 ms flushes): exact counter totals, no torn gauge', async () => {
  const r = await receiver();
  const c = new StatsD({ host: '127.0.0.1', port: r.port, bufferFlushInterval: 1 });
  const m = new RealmMetrics({ host: '127.0.0.1', port: r.port, prefix: 'rt', flushInterval: 1 });
  const N = 3_000_000;
  for (let i = 1; i <= N; i += 1) {
    c.increment('hits');
    c.gauge('g', i);
    c.gaugeDelta('g', 1);
    m.connectionStarted();
    m.connectionOnline(i);
    if ((i & 0xffff) === 0) await new Promise((res) => setImmediate(res));
  }
  await c.close();
  await m.close();
  await r.until(() => r.counts().get('hits') === N && r.counts().get('rt.connection.started') === N, 10000);
  // Every gauge value sent is one the program held at some instant: i or i + 1 for g.
  const gs = r.lines.filter((l) => l.startsWith('g:')).map((l) => Number(l.slice(2, -2)));
  const online = r.lines.filter((l) => l.startsWith('rt.connection.online:')).map((l) => Number(l.split(':')[1].slice(0, -2)));
  assert.ok(gs.length > 1 && online.length > 1, `${gs.length} and ${online.length} gauge lines`);
  for (const v of gs) assert.ok(Number.isInteger(v) && v >= 1 && v <= N + 1, `g sent ${v}`);
  for (const v of online) assert.ok(Number.isInteger(v) && v >= 1 && v <= N, `online sent ${v}`);
  assert.equal(gs.at(-1), N + 1);
  assert.equal(online.at(-1), N);
  await r.close();
});
