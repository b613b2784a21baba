// The README's "Differences from hot-shots", each shown on both clients: what hot-shots does,
// and the documented behaviour of this package (default, aggregated mode unless said).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HotShots, Realm, HS_PLAIN, receiver, closeHs, withRandom } from './helpers.mjs';
import { deadPort } from '../helpers.mjs';

async function both(opts, calls, { hsOpts = {}, ourOpts = {} } = {}) {
  const [rh, ro] = [await receiver(), await receiver()];
  const hs = new HotShots({ host: '127.0.0.1', port: rh.port, ...HS_PLAIN, ...opts, ...hsOpts });
  const ours = new Realm({ host: '127.0.0.1', port: ro.port, bufferFlushInterval: 0, ...opts, ...ourOpts });
  withRandom(0, () => calls(hs));
  withRandom(0, () => calls(ours));
  await closeHs(hs);
  await ours.close();
  await new Promise((r) => setTimeout(r, 100));
  const out = { hs: [...rh.lines], ours: [...ro.lines], hsDatagrams: rh.datagrams, ourDatagrams: ro.datagrams };
  await rh.close();
  await ro.close();
  return out;
}

test('counters: one line per call (hot-shots) against one summed line per flush; sampled counters counted exactly', async () => {
  const r = await both({}, (c) => {
    for (let i = 0; i < 10; i += 1) c.increment('hits');
    c.increment('sampled', 1, 0.5);
    c.increment('sampled', 1, 0.5);
  });
  assert.equal(r.hs.filter((l) => l.startsWith('hits:')).length, 10);
  assert.deepEqual(r.hs.filter((l) => l.startsWith('sampled:')), ['sampled:1|c|@0.5', 'sampled:1|c|@0.5']);
  assert.deepEqual(r.ours.sort(), ['hits:10|c', 'sampled:2|c']);
  assert.equal(r.hsDatagrams, 12);
  assert.equal(r.ourDatagrams, 1);
});

test('a counter series that sums to 0 between flushes is not sent; hot-shots sends every call', async () => {
  const r = await both({}, (c) => { c.increment('z', 2); c.decrement('z', 2); c.increment('zero', 0); });
  assert.deepEqual(r.hs, ['z:2|c', 'z:-2|c', 'zero:0|c']);
  assert.deepEqual(r.ours, []);
});

test('gauges: the last value per flush, every call kept (no |@rate); gaugeDelta summed', async () => {
  const r = await both({}, (c) => {
    c.gauge('g', 1, 0.5);
    c.gauge('g', 2, 0.5);
    c.gaugeDelta('d', 2);
    c.gaugeDelta('d', 3);
  });
  assert.deepEqual(r.hs, ['g:1|g|@0.5', 'g:2|g|@0.5', 'd:+2|g', 'd:+3|g']);
  assert.deepEqual(r.ours.sort(), ['d:+5|g', 'g:2|g']);
});

test('telegraf: a negative gauge goes out as 0 then -N (hot-shots writes -N, read as a change)', async () => {
  const r = await both({ telegraf: true }, (c) => c.gauge('temp', -3, { room: 'a' }));
  assert.deepEqual(r.hs, ['temp,room=a:-3|g']);
  assert.deepEqual(r.ours, ['temp,room=a:0|g', 'temp,room=a:-3|g']);
});

test('timings wait for the flush (hot-shots sends them per call); callbacks run before anything is sent', async () => {
  const [rh, ro] = [await receiver(), await receiver()];
  const hs = new HotShots({ host: '127.0.0.1', port: rh.port, ...HS_PLAIN });
  const ours = new Realm({ host: '127.0.0.1', port: ro.port, bufferFlushInterval: 60000 });
  const order = [];
  hs.timing('t', 5, () => order.push('hot-shots callback'));
  ours.timing('t', 5, (err, bytes) => order.push(`ours callback ${err} ${bytes}`));
  order.push('after the calls');
  await rh.until(() => rh.lines.length === 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ro.lines, []);
  assert.deepEqual(order, ['ours callback null 6', 'after the calls', 'hot-shots callback']);
  await ours.flush();
  await ro.until(() => ro.lines.length === 1);
  assert.deepEqual(ro.lines, rh.lines);
  await closeHs(hs);
  await ours.close();
  await rh.close();
  await ro.close();
});

test('bad values and an explicit bad port throw here; hot-shots sends them / falls back to 8125', () => {
  const hs = new HotShots({ mock: true });
  hs.increment('x', NaN);
  hs.gauge('y', Infinity);
  assert.deepEqual(hs.mockBuffer, ['x:NaN|c', 'y:Infinity|g']);
  const ours = new Realm({ mock: true });
  assert.throws(() => ours.increment('x', NaN), (e) => e instanceof RangeError && e.code === 'ERR_REALM_METRICS_NON_FINITE_VALUE');
  assert.throws(() => ours.gauge('y', Infinity), (e) => e instanceof RangeError && e.code === 'ERR_REALM_METRICS_NON_FINITE_VALUE');
  const saved = console.error;
  console.error = () => {};
  try {
    assert.equal(new HotShots({ mock: true, port: 70000 }).port, 8125);
  } finally {
    console.error = saved;
  }
  assert.throws(() => new Realm({ mock: true, port: 70000 }), (e) => e instanceof RangeError && e.code === 'ERR_REALM_METRICS_INVALID_CONFIG');
});

test('mockBuffer is bounded by mockBufferSize (hot-shots keeps every line)', () => {
  const hs = new HotShots({ mock: true });
  const ours = new Realm({ mock: true, mockBufferSize: 5 });
  for (let i = 0; i < 10; i += 1) { hs.increment(`n${i}`); ours.increment(`n${i}`); }
  assert.equal(hs.mockBuffer.length, 10);
  assert.deepEqual(ours.mockBuffer, hs.mockBuffer.slice(5));
});

test('an unresolvable host: ERR_REALM_METRICS_RESOLVE_FAILED here, ENOTFOUND from hot-shots', async () => {
  const codes = [];
  for (const C of [HotShots, Realm]) {
    const c = new C({ host: 'no-such-host.invalid', port: 9999, ...HS_PLAIN });
    codes.push(await new Promise((r) => c.increment('x', 1, (e) => r(e && e.code))));
    if (C === HotShots) await closeHs(c);
    else await c.close();
  }
  assert.equal(codes[1], 'ERR_REALM_METRICS_RESOLVE_FAILED');
  assert.ok(/ENOTFOUND|EAI_AGAIN/.test(codes[0]), codes[0]);
});

test('instance fields and bufferFlushInterval 0: hot-shots leaves host and mock undefined and replaces 0 by 1000 with a warning; here host is resolved, mock a boolean, and 0 means no timed flush', async () => {
  const port = await deadPort();
  const saved = process.env.DD_AGENT_HOST;
  delete process.env.DD_AGENT_HOST;
  const seen = [];
  const orig = console.error;
  console.error = (m) => { seen.push(String(m)); };
  try {
    const hs = new HotShots({ ...HS_PLAIN, port, mock: undefined, bufferFlushInterval: 0, maxBufferSize: 100 });
    const hsWarned = seen.some((m) => m.includes("'bufferFlushInterval'"));
    seen.length = 0;
    const ours = new Realm({ port, mock: undefined, bufferFlushInterval: 0, host: undefined });
    assert.equal(hs.host, undefined);
    assert.equal(hs.mock, undefined);
    assert.equal(hs.bufferFlushInterval, 1000);
    assert.ok(hsWarned);
    assert.equal(ours.host, 'localhost');
    assert.equal(ours.mock, false);
    assert.equal(ours.bufferFlushInterval, 0);
    assert.equal(seen.filter((m) => m.includes("'bufferFlushInterval'")).length, 0);
    await closeHs(hs);
    await ours.close();
  } finally {
    console.error = orig;
    if (saved !== undefined) process.env.DD_AGENT_HOST = saved;
  }
});
