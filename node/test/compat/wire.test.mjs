// On real sockets (UDP, TCP, a Unix stream socket), the same calls on hot-shots and on this
// package: with `aggregation: false`, the same lines; by default (aggregated), the same totals
// at a StatsD daemon (summed counters, last gauge values, set members, every timing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HotShots, Realm, HS_PLAIN, anyReceiver, transportOptions, closeHs, withRandom, totals,
} from './helpers.mjs';

/** The calls: every metric method and overload, tags of every shape, events and checks. */
function script(c) {
  c.increment('req');
  c.increment('req', 3);
  c.increment('req', 2, ['route:a']);
  c.increment('req', ['route:a']);
  c.increment('req', 1, { route: 'b' });
  c.increment(['multi.a', 'multi.b'], 2);
  c.decrement('left');
  c.decrement('left', 4, ['k:v']);
  c.increment('odd,na:me|x', 1, ['t:a,b', 'bare', 'k:v|#@', 'url:http://h/p']);
  c.increment('frac', 0.25);
  c.increment('frac', 0.5);
  c.gauge('g', 10);
  c.gauge('g', 12);
  c.gauge('g', 12.5, ['k:v']);
  c.gauge('g.mixed', 4);
  c.gaugeDelta('g.mixed', 3);
  c.gaugeDelta('gd', 5);
  c.gaugeDelta('gd', -2);
  c.timing('t', 12);
  c.timing('t', 7.5, ['k:v']);
  c.histogram('h', 3);
  c.distribution('d', 4, { sampleRate: 1, tags: ['x:y'] });
  c.set('s', 'alice', ['k:v']);
  c.set('s', 'alice', ['k:v']);
  c.unique('s', 'bob');
  c.event('Deploy', 'text', { priority: 'low' }, ['v:1']);
  c.check('svc', 2, { message: 'down' });
  c.increment('stamped', 2, { timestamp: 1700000000, tags: ['k:v'] });
  const child = c.childClient({ prefix: 'child', globalTags: { k: 'child' } });
  child.increment('req', 2);
  child.timing('t', 1);
}

/**
 * Per-call only: sampled calls (`|@rate` on every type, Math.random() stubbed to keep them) and
 * a negative absolute gauge (see the README's differences).
 */
function sampled(c) {
  c.gauge('g.neg', -3, ['k:v']);
  c.increment('smp', 1, 0.5);
  c.gauge('smp.g', 2, 0.5);
  c.set('smp.s', 'm', 0.5, ['k:v']);
  c.timing('smp.t', 3, 0.25);
}

for (const kind of ['udp', 'tcp', 'unix']) {
  test(`${kind}: aggregation: false sends hot-shots' lines`, async () => {
    const [rh, ro] = [await anyReceiver(kind), await anyReceiver(kind)];
    const globals = { prefix: 'app', globalTags: { env: 'prod', k: 'g' } };
    const hs = new HotShots({ ...transportOptions(kind, rh).hs, ...globals, ...HS_PLAIN });
    const ours = new Realm({ ...transportOptions(kind, ro).ours, ...globals, aggregation: false });
    withRandom(0, () => { script(hs); sampled(hs); });
    withRandom(0, () => { script(ours); sampled(ours); });
    await closeHs(hs);
    await ours.close();
    const n = 36;
    await rh.until(() => rh.lines.length >= n);
    await ro.until(() => ro.lines.length >= n);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([...ro.lines].sort(), [...rh.lines].sort());
    assert.ok(ro.lines.includes('app.smp.g:2|g|@0.5|#env:prod,k:g'));
    assert.ok(ro.lines.includes('app.smp.s:m|s|@0.5|#env:prod,k:v'));
    await rh.close();
    await ro.close();
  });

  test(`${kind}: aggregated (default), a daemon gets the same totals as from hot-shots`, async () => {
    const [rh, ro] = [await anyReceiver(kind), await anyReceiver(kind)];
    const globals = { prefix: 'app.', suffix: 'x', globalTags: ['env:prod', 'k:g'] };
    const hs = new HotShots({ ...transportOptions(kind, rh).hs, ...globals, ...HS_PLAIN });
    const ours = new Realm({ ...transportOptions(kind, ro).ours, ...globals, bufferFlushInterval: 0 });
    for (let i = 0; i < 3; i += 1) {
      script(hs);
      script(ours);
      // Aggregated over flushes too.
      await ours.flush();
    }
    await closeHs(hs);
    await ours.close();
    const want = await (async () => {
      await rh.until(() => rh.lines.length >= 3 * 31);
      await new Promise((r) => setTimeout(r, 50));
      return totals(rh.lines);
    })();
    await ro.until(() => JSON.stringify(totals(ro.lines)) === JSON.stringify(want), 3000).catch(() => {});
    assert.deepEqual(totals(ro.lines), want);
    // Fewer lines: one per counter series per flush.
    assert.ok(ro.lines.length < rh.lines.length, `${ro.lines.length} lines against hot-shots' ${rh.lines.length}`);
    await rh.close();
    await ro.close();
  });
}

test('udp: callbacks get (null, bytes): null as from hot-shots, bytes as hot-shots <= 16 reported them', async () => {
  const [rh, ro] = [await anyReceiver('udp'), await anyReceiver('udp')];
  const got = [[], [], []];
  const hs = new HotShots({ host: '127.0.0.1', port: rh.port, ...HS_PLAIN, globalTags: ['env:prod'] });
  const clients = [hs, new Realm({ host: '127.0.0.1', port: ro.port, globalTags: ['env:prod'], aggregation: false }),
    new Realm({ host: '127.0.0.1', port: ro.port, globalTags: ['env:prod'] })];
  await Promise.all(clients.map((c, i) => new Promise((done) => {
    let left = 4;
    const cb = (...a) => { got[i].push(a); left -= 1; if (left === 0) done(); };
    c.increment('a', 1, cb);
    c.gauge('g', 2.5, ['k:v'], cb);
    c.timing('t', 3, cb);
    c.increment(['x', 'yy'], 2, cb);
  })));
  // hot-shots 17 passes undefined (0 for an array of stats) where older versions passed the
  // datagram's size: documented in the README.
  assert.deepEqual(got[0].map((a) => a[0]), [null, null, null, null]);
  for (const g of [got[1], got[2]]) {
    assert.deepEqual(g.map((a) => a[0]), [null, null, null, null]);
    // 'a:1|c|#env:prod', 'g:2.5|g|#env:prod,k:v', 't:3|ms|#env:prod', 'x:2|c|#env:prod' + 'yy:2|c|#env:prod'
    assert.deepEqual(g.map((a) => a[1]), [15, 21, 16, 31]);
  }
  await closeHs(hs);
  await clients[1].close();
  await clients[2].close();
  await rh.close();
  await ro.close();
});

test('udp: maxBufferSize is a flush threshold; a longer line is still sent (per-call and aggregated)', async () => {
  for (const aggregation of [false, true]) {
    const [rh, ro] = [await anyReceiver('udp'), await anyReceiver('udp')];
    const hs = new HotShots({ host: '127.0.0.1', port: rh.port, maxBufferSize: 40, ...HS_PLAIN });
    const ours = new Realm({ host: '127.0.0.1', port: ro.port, maxBufferSize: 40, aggregation });
    const long = 'x'.repeat(100);
    for (const c of [hs, ours]) {
      c.increment('short.one');
      c.increment('short.two');
      c.increment(long);
      c.timing(long, 5);
    }
    await closeHs(hs);
    await ours.close();
    await rh.until(() => rh.lines.length >= 4);
    await ro.until(() => ro.lines.length >= 4);
    assert.deepEqual([...ro.lines].sort(), [...rh.lines].sort(), `aggregation ${aggregation}`);
    // Datagrams of at most 40 bytes, except the long lines, alone.
    assert.ok(ro.datagrams >= 3);
    await rh.close();
    await ro.close();
  }
});

test('tcp and stream: the connection is re-made after the daemon drops it', async () => {
  for (const kind of ['tcp', 'unix']) {
    const r = await anyReceiver(kind);
    const c = new Realm({ ...transportOptions(kind, r).ours, bufferFlushInterval: 0 });
    c.increment('before', 2);
    await c.flush();
    await r.until(() => r.lines.includes('before:2|c'));
    r.drop();
    await new Promise((res) => setTimeout(res, 50));
    // The first write after the drop may fail (counted); a later flush reconnects.
    for (let i = 0; i < 50 && !r.lines.some((l) => l.startsWith('after:')); i += 1) {
      c.increment('after');
      await c.flush();
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(r.lines.some((l) => l.startsWith('after:')), `${kind}: sent after reconnecting`);
    assert.ok(r.connections >= 2);
    // Connections after the first one (core's stream transport).
    assert.ok(c.stats().reconnects >= 1);
    await c.close();
    await r.close();
  }
});

test("protocol 'stream' with a writable stream (hot-shots' `stream` option): the same lines per call, the same totals aggregated", async () => {
  const { PassThrough } = await import('node:stream');
  const collect = (st) => {
    const lines = [];
    let rest = '';
    st.on('data', (d) => {
      rest += d.toString();
      const parts = rest.split('\n');
      rest = parts.pop();
      for (const l of parts) if (l) lines.push(l);
    });
    return lines;
  };
  for (const aggregation of [false, true]) {
    const [sh, so] = [new PassThrough(), new PassThrough()];
    const [lh, lo] = [collect(sh), collect(so)];
    const hs = new HotShots({ protocol: 'stream', stream: sh, ...HS_PLAIN, prefix: 'st' });
    const ours = new Realm({ protocol: 'stream', stream: so, prefix: 'st', aggregation, bufferFlushInterval: 0 });
    script(hs);
    script(ours);
    await new Promise((r) => setImmediate(r));
    if (!aggregation) {
      // Written right after the calls, before any flush.
      assert.equal(lo.length, 31);
    }
    await closeHs(hs);
    await ours.close();
    await new Promise((r) => setImmediate(r));
    if (aggregation) assert.deepEqual(totals(lo), totals(lh));
    else assert.deepEqual([...lo].sort(), [...lh].sort());
    assert.ok(lh.length >= 31);
  }
});
