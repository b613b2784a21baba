// The hot-shots compatible client against a real UDP receiver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pkg, receiver, deadPort } from './helpers.mjs';

const { StatsD } = pkg;

test('require() returns the StatsD class, like hot-shots', () => {
  assert.equal(typeof pkg, 'function');
  assert.equal(pkg.StatsD, pkg);
  const c = new pkg({ mock: true });
  assert.equal(c.host, 'localhost');
  assert.equal(c.port, 8125);
  assert.equal(c.prefix, '');
});

test('prefix and suffix join as is; increments aggregate into one line per flush', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', prefix: 'app.', suffix: '.total', bufferFlushInterval: 0 });
  c.increment('hits');
  c.increment('hits');
  c.increment('hits', 5);
  c.decrement('left', 2);
  c.increment('left', 5);
  await c.flush();
  await r.until(() => r.lines.length >= 2);
  assert.deepEqual(r.lines.sort(), ['app.hits.total:7|c', 'app.left.total:3|c']);
  await c.close();
  await r.close();
});

test('tags in both dialects, global tags first', async () => {
  const r = await receiver();
  const dog = new StatsD({ port: r.port, host: '127.0.0.1', globalTags: { env: 'prod' }, bufferFlushInterval: 0 });
  const tele = new StatsD({ port: r.port, host: '127.0.0.1', telegraf: true, globalTags: ['env:prod'], bufferFlushInterval: 0 });
  dog.increment('req', 1, ['route:sync']);
  dog.increment('req', { route: 'sync' });
  tele.increment('req', 2, { route: 'sync' });
  tele.gauge('temp', 21.5, ['room:a']);
  await dog.flush();
  await tele.flush();
  await r.until(() => r.lines.length >= 3);
  assert.deepEqual(r.lines.sort(), [
    'req,env=prod,route=sync:2|c',
    'req:2|c|#env:prod,route:sync',
    'temp,env=prod,room=a:21.5|g',
  ]);
  await dog.close();
  await tele.close();
  await r.close();
});

test('arrays of names, gauges, timings, histograms, distributions and sets', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', prefix: 'p.', bufferFlushInterval: 0 });
  c.increment(['a', 'b'], 3);
  c.gauge('g', 10);
  c.gaugeDelta('g', -4);
  c.timing('t', 12.5);
  c.histogram('h', 3);
  c.distribution(['d1', 'd2'], 0.25);
  c.set('s', 'user1');
  c.unique('s', 7);
  await c.close();
  await r.until(() => r.lines.length >= 9);
  assert.deepEqual(r.lines.sort(), [
    'p.a:3|c', 'p.b:3|c', 'p.d1:0.25|d', 'p.d2:0.25|d', 'p.g:6|g', 'p.h:3|h', 'p.s:7|s', 'p.s:user1|s', 'p.t:12.5|ms',
  ].sort());
  await r.close();
});

test('positional flexibility: callback in any trailing position, tags without a value', async () => {
  const c = new StatsD({ mock: true });
  let calls = 0;
  // hot-shots' convention: (null, bytes); bytes is 0 in mock mode.
  const cb = (err, bytes) => { assert.equal(err, null); assert.equal(bytes, 0); calls += 1; };
  c.increment('a', cb);
  c.increment('a', 2, cb);
  c.increment('a', 2, 1, cb);
  c.increment('a', 2, 1, ['k:v'], cb);
  c.increment('a', ['k:v'], cb);
  c.increment('a', 2, ['k:v'], cb);
  c.timing('t', 5, { k: 'v' }, cb);
  c.gauge('g', 1, { sampleRate: 1, tags: ['x:y'] }, cb);
  assert.equal(calls, 8);
  assert.deepEqual(c.mockBuffer, [
    'a:1|c', 'a:2|c', 'a:2|c', 'a:2|c|#k:v', 'a:1|c|#k:v', 'a:2|c|#k:v', 't:5|ms|#k:v', 'g:1|g|#x:y',
  ]);
});

test('mock mode: one line per call, sample rates on the wire, bounded buffer', () => {
  const c = new StatsD({ mock: true, prefix: 'm.', mockBufferSize: 3 });
  c.increment('x', 1, 0.5);
  while (c.mockBuffer.length === 0) c.increment('x', 1, 0.5);
  assert.equal(c.mockBuffer[0], 'm.x:1|c|@0.5');
  c.mockBuffer.length = 0;
  for (let i = 0; i < 5; i += 1) c.gauge('g', i);
  assert.deepEqual(c.mockBuffer, ['m.g:2|g', 'm.g:3|g', 'm.g:4|g']);
  const t = new StatsD({ mock: true, telegraf: true });
  t.timing('lat', 3, 0.25, { a: 'b' });
  while (t.mockBuffer.length === 0) t.timing('lat', 3, 0.25, { a: 'b' });
  assert.equal(t.mockBuffer[0], 'lat,a=b:3|ms|@0.25');
  assert.deepEqual(c.stats().packetsSent, 0);
});

test('sampled counters over UDP are counted exactly (aggregation needs no sampling)', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', bufferFlushInterval: 0 });
  for (let i = 0; i < 1000; i += 1) c.increment('s', 1, 0.1);
  await c.close();
  await r.until(() => r.lines.length >= 1);
  assert.deepEqual(r.lines, ['s:1000|c']);
  await r.close();
});

test('sampled timings, histograms and distributions carry |@rate over UDP', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', bufferFlushInterval: 0 });
  const calls = 2000;
  for (let i = 0; i < calls; i += 1) {
    c.timing('lat', 5, 0.25, { route: 'sync' });
    c.histogram('size', 7, 0.5);
  }
  c.distribution('full', 1, 1);
  await c.close();
  await r.until(() => r.lines.some((l) => l.startsWith('full:')));
  const lat = r.lines.filter((l) => l.startsWith('lat'));
  const size = r.lines.filter((l) => l.startsWith('size'));
  assert.ok(lat.length > 0 && lat.every((l) => l === 'lat:5|ms|@0.25|#route:sync'), lat.slice(0, 3).join());
  assert.ok(size.length > 0 && size.every((l) => l === 'size:7|h|@0.5'), size.slice(0, 3).join());
  // Sampling keeps about `rate` of the calls (bounds far outside any plausible random run).
  assert.ok(lat.length > calls * 0.15 && lat.length < calls * 0.35, `kept ${lat.length} of ${calls} at 0.25`);
  assert.ok(size.length > calls * 0.4 && size.length < calls * 0.6, `kept ${size.length} of ${calls} at 0.5`);
  assert.ok(r.lines.includes('full:1|d'), 'rate 1 writes no |@');
  await r.close();
});

test('errorHandler is called on send errors (nothing listens on the port)', async () => {
  const port = await deadPort();
  const errors = [];
  const c = new StatsD({ port, host: '127.0.0.1', bufferFlushInterval: 0, errorHandler: (e) => errors.push(e) });
  // The first datagram provokes ICMP port unreachable; a later send on the connected socket
  // reports it.
  const deadline = Date.now() + 5000;
  while (errors.length === 0 && Date.now() < deadline) {
    c.increment('x');
    await c.flush().catch(() => {});
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(errors.length > 0, 'errorHandler was called');
  assert.ok(errors[0] instanceof Error);
  assert.equal(errors[0].code, 'ERR_REALM_METRICS_SEND_FAILED');
  assert.ok(c.stats().sendErrors > 0);
  await c.close();
});

test('flush never rejects: a send error goes to its callback (hot-shots), not to errorHandler', async () => {
  const port = await deadPort();
  const handled = [];
  const c = new StatsD({ port, host: '127.0.0.1', bufferFlushInterval: 0, errorHandler: (e) => handled.push(e) });
  let err;
  for (let i = 0; i < 100 && !err; i += 1) {
    c.increment('x');
    // Resolves even when the send fails.
    await c.flush((e) => { if (e) err = e; });
    await new Promise((res) => setTimeout(res, 10));
  }
  assert.ok(err);
  assert.equal(err.code, 'ERR_REALM_METRICS_SEND_FAILED');
  // A bare flush() that fails resolves too (nothing unhandled) and tells the errorHandler.
  const before = handled.length;
  for (let i = 0; i < 100 && handled.length === before; i += 1) {
    c.increment('x');
    await c.flush();
    await new Promise((res) => setTimeout(res, 10));
  }
  assert.ok(handled.length > before, 'errorHandler got the error of a bare flush()');
  await c.close();
});

test('bad arguments throw TypeError/RangeError with a code, and the client keeps working', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', bufferFlushInterval: 0 });
  // Changed for hot-shots compatibility: names with `:`, `|` or a newline are sanitised
  // (test/compat), a non-object "tags" argument is taken as the callback, an unknown protocol
  // and an unresolvable host go to the callback / errorHandler.
  const cases = [
    [() => c.gauge('a', 1n), TypeError, 'ERR_REALM_METRICS_INVALID_ARGUMENT'],
    [() => c.increment('a', NaN), RangeError, 'ERR_REALM_METRICS_NON_FINITE_VALUE'],
    [() => c.gauge('a', Infinity), RangeError, 'ERR_REALM_METRICS_NON_FINITE_VALUE'],
    [() => c.gauge('a'), TypeError, 'ERR_REALM_METRICS_INVALID_ARGUMENT'],
    [() => c.increment(42), TypeError, 'ERR_REALM_METRICS_INVALID_NAME'],
    [() => c.increment('a', 1, 2), RangeError, 'ERR_REALM_METRICS_INVALID_SAMPLE_RATE'],
    [() => pkg.encode('a', 1, 'zz'), TypeError, 'ERR_REALM_METRICS_INVALID_TYPE'],
    [() => pkg.encode('a', 1, 'c', { dialect: 'nope' }), TypeError, 'ERR_REALM_METRICS_INVALID_DIALECT'],
    [() => pkg.decode(42), TypeError, 'ERR_REALM_METRICS_INVALID_ARGUMENT'],
  ];
  for (const [fn, Ctor, code] of cases) {
    assert.throws(fn, (e) => e instanceof Ctor && e.code === code, `${fn} -> ${code}`);
  }
  c.increment('ok');
  await c.close();
  await r.until(() => r.lines.length >= 1);
  assert.deepEqual(r.lines, ['ok:1|c']);
  await r.close();
});

test('close() resolves after everything counted was sent; calls after close are no-ops', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', bufferFlushInterval: 60000 });
  for (let i = 0; i < 12345; i += 1) c.increment('n');
  await c.close();
  await r.until(() => r.lines.length >= 1);
  assert.deepEqual(r.lines, ['n:12345|c']);
  c.increment('n');
  await c.flush();
  await c.close();
  await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(r.lines, ['n:12345|c']);
  await r.close();
});

test('the flusher thread sends on its own, every bufferFlushInterval', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', bufferFlushInterval: 50 });
  c.increment('tick');
  await r.until(() => r.lines.length >= 1);
  assert.deepEqual(r.lines, ['tick:1|c']);
  await c.close();
  await r.close();
});

test('decrement below zero goes out as a negative counter', async () => {
  const r = await receiver();
  const c = new StatsD({ port: r.port, host: '127.0.0.1', bufferFlushInterval: 0 });
  c.increment('q', 2);
  c.decrement('q', 5);
  c.decrement('q');
  await c.close();
  await r.until(() => r.lines.length >= 1);
  assert.deepEqual(r.lines, ['q:-4|c']);
  await r.close();
});

test('maxBufferSize: a negative or fractional size is a RangeError; a size past a datagram is capped (lines still arrive)', async () => {
  for (const maxBufferSize of [-5, 0.5]) {
    assert.throws(() => new StatsD({ host: '127.0.0.1', port: 9, maxBufferSize }), (e) => e instanceof RangeError && e.code === 'ERR_REALM_METRICS_INVALID_CONFIG');
  }
  assert.throws(() => new pkg.RealmMetrics({ host: '127.0.0.1', port: 9, maxPayload: -1 }), (e) => e instanceof RangeError && e.code === 'ERR_REALM_METRICS_INVALID_CONFIG');
  const r = await receiver();
  const c = new StatsD({ host: '127.0.0.1', port: r.port, maxBufferSize: 1e12, bufferFlushInterval: 0 });
  for (let i = 0; i < 5000; i += 1) c.increment(`capped.name.${i}`);
  await c.close();
  await r.until(() => r.lines.length >= 5000);
  assert.ok(r.datagrams >= 2, `${r.datagrams} datagrams`);
  await r.close();
});
