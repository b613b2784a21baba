// Constructor options and error conventions, from hot-shots' README, checked on both clients:
// environment variables, the positional constructor, globalize, cacheDns, an unknown protocol,
// an unresolvable host, and a flush that fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HotShots, Realm, HS_PLAIN, receiver, closeHs } from './helpers.mjs';
import { deadPort } from '../helpers.mjs';

/** Run `fn` with environment variables set, then restore them. */
async function withEnv(vars, fn) {
  const saved = {};
  for (const k of Object.keys(vars)) {
    saved[k] = process.env[k];
    process.env[k] = vars[k];
  }
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(vars)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

test('DD_AGENT_HOST and DD_DOGSTATSD_PORT: where both clients send when no host/port is given', async () => {
  const [rh, ro] = [await receiver(), await receiver()];
  for (const [C, r, extra] of [[HotShots, rh, HS_PLAIN], [Realm, ro, { aggregation: false }]]) {
    await withEnv({ DD_AGENT_HOST: '127.0.0.1', DD_DOGSTATSD_PORT: String(r.port) }, async () => {
      const c = new C({ ...extra });
      assert.equal(c.host, '127.0.0.1');
      assert.equal(c.port, r.port);
      c.increment('env.routed', 2);
      if (C === HotShots) await closeHs(c);
      else await c.close();
    });
  }
  await rh.until(() => rh.lines.length >= 1);
  await ro.until(() => ro.lines.length >= 1);
  assert.deepEqual(ro.lines, rh.lines);
  assert.deepEqual(ro.lines, ['env.routed:2|c']);
  await rh.close();
  await ro.close();
});

test('DD_ENTITY_ID, DD_ENV, DD_SERVICE, DD_VERSION and DD_TAGS become global tags (replacing same keys); includeDataDogTags: false turns them off', async () => {
  await withEnv({ DD_ENTITY_ID: 'ent-1', DD_ENV: 'staging', DD_SERVICE: 'sync,svc', DD_VERSION: '1.2.3', DD_TAGS: 'team:core,bare' }, async () => {
    for (const opts of [{}, { globalTags: { env: 'prod', service: 'x', other: 'o' } }, { includeDataDogTags: false, globalTags: ['env:prod'] }]) {
      const hs = new HotShots({ ...opts, ...HS_PLAIN, mock: true });
      const ours = new Realm({ ...opts, mock: true });
      for (const c of [hs, ours]) {
        c.increment('e');
        c.gauge('g', 1, ['env:call']);
        c.check('c', 0);
      }
      assert.deepEqual(ours.mockBuffer, hs.mockBuffer, JSON.stringify(opts));
      assert.deepEqual(ours.globalTags, hs.globalTags);
    }
    const c = new Realm({ mock: true, globalTags: { env: 'prod' } });
    c.increment('e');
    assert.deepEqual(c.mockBuffer, ['e:1|c|#team:core,bare,dd.internal.entity_id:ent-1,env:staging,service:sync_svc,version:1.2.3']);
  });
});

test('the positional constructor (host, port, prefix, suffix, globalize, cacheDns, mock, globalTags, ...)', () => {
  const hs = new HotShots('127.0.0.1', 9999, 'pos', 'sfx', false, false, true, ['env:prod']);
  const ours = new Realm('127.0.0.1', 9999, 'pos', 'sfx', false, false, true, ['env:prod']);
  for (const c of [hs, ours]) {
    c.increment('m');
    c.timing('t', 2, ['k:v']);
  }
  assert.deepEqual(ours.mockBuffer, hs.mockBuffer);
  assert.deepEqual(ours.mockBuffer, ['pos.m.sfx:1|c|#env:prod', 'pos.t.sfx:2|ms|#env:prod,k:v']);
  assert.equal(ours.host, hs.host);
  assert.equal(ours.port, hs.port);
  // A host string alone is the positional form too.
  assert.equal(new Realm('example.invalid').host, 'example.invalid');
});

test('called without new: this package builds a client (hot-shots 17 throws; README)', () => {
  // eslint-disable-next-line new-cap
  const c = Realm({ mock: true, prefix: 'nn' });
  assert.ok(c instanceof Realm);
  c.increment('x');
  assert.deepEqual(c.mockBuffer, ['nn.x:1|c']);
  assert.throws(() => HotShots({ mock: true }).increment('x'), TypeError);
});

test('globalize sets global.statsd', () => {
  for (const C of [HotShots, Realm]) {
    delete globalThis.statsd;
    const c = new C({ mock: true, globalize: true });
    assert.equal(globalThis.statsd, c);
  }
  delete globalThis.statsd;
});

test('cacheDns: a host name is resolved and cached; lines arrive from both clients', async () => {
  const [rh, ro] = [await receiver(), await receiver()];
  const hs = new HotShots({ host: 'localhost', port: rh.port, cacheDns: true, ...HS_PLAIN, udpSocketOptions: { type: 'udp4' } });
  const ours = new Realm({ host: 'localhost', port: ro.port, cacheDns: true, aggregation: false });
  for (const c of [hs, ours]) { c.increment('dns', 3); c.increment('dns', 4); }
  await closeHs(hs);
  await ours.close();
  await rh.until(() => rh.lines.length >= 2);
  await ro.until(() => ro.lines.length >= 2);
  assert.deepEqual(ro.lines.sort(), rh.lines.sort());
  await rh.close();
  await ro.close();
});

test('an unknown protocol goes to the errorHandler, and each send then calls back with an error', async () => {
  for (const C of [HotShots, Realm]) {
    const handled = [];
    const c = new C({ protocol: 'pigeon', errorHandler: (e) => handled.push(e) });
    assert.equal(handled.length, 1, C.name);
    assert.ok(handled[0] instanceof Error);
    const err = await new Promise((r) => c.increment('x', 1, (e) => r(e)));
    assert.ok(err instanceof Error, C.name);
    if (C === HotShots) await closeHs(c);
    else await c.close();
  }
});

test('an unresolvable host is reported to the callback, else to the errorHandler, never thrown', async () => {
  for (const C of [HotShots, Realm]) {
    const handled = [];
    const opts = { host: 'no-such-host.invalid', port: 9999, ...(C === HotShots ? HS_PLAIN : { aggregation: false }) };
    const c = new C(opts);
    const err = await new Promise((r) => c.increment('x', 1, (e) => r(e)));
    assert.ok(err instanceof Error, C.name);
    const h = new C({ ...opts, errorHandler: (e) => handled.push(e) });
    h.increment('x');
    const deadline = Date.now() + 5000;
    while (handled.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      await h.flush();
    }
    assert.ok(handled.length >= 1 && handled[0] instanceof Error, C.name);
    for (const x of [c, h]) {
      if (C === HotShots) await closeHs(x);
      else await x.close();
    }
  }
});

test('a bare flush() that fails never rejects: no unhandled rejection, the errorHandler gets the error', async () => {
  const port = await deadPort();
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const handled = [];
  const c = new Realm({ host: '127.0.0.1', port, bufferFlushInterval: 0, errorHandler: (e) => handled.push(e) });
  const hs = new HotShots({ host: '127.0.0.1', port, maxBufferSize: 100, ...HS_PLAIN, errorHandler: () => {} });
  for (let i = 0; i < 50 && handled.length === 0; i += 1) {
    c.increment('x');
    c.flush();
    hs.increment('x');
    hs.flush();
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 50));
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, []);
  assert.ok(handled.length > 0);
  await c.close();
  await closeHs(hs);
});

test('DD_DOGSTATSD_URL (udp://, unix://) and DD_DOGSTATSD_SOCKET choose the transport when no option does', async () => {
  const r = await receiver();
  for (const [vars, want] of [
    [{ DD_DOGSTATSD_URL: `udp://127.0.0.1:${r.port}` }, { protocol: 'udp', host: '127.0.0.1', port: r.port }],
    [{ DD_DOGSTATSD_URL: 'udp://[::1]:9125' }, { protocol: 'udp', host: '::1', port: 9125 }],
    [{ DD_DOGSTATSD_URL: 'unix:///tmp/dsd.sock' }, { protocol: 'uds', path: '/tmp/dsd.sock' }],
    [{ DD_DOGSTATSD_URL: 'unixgram:///tmp/g.sock' }, { protocol: 'uds', path: '/tmp/g.sock' }],
    [{ DD_DOGSTATSD_SOCKET: ' /tmp/s.sock ' }, { protocol: 'uds', path: '/tmp/s.sock' }],
  ]) {
    await withEnv(vars, async () => {
      for (const C of [HotShots, Realm]) {
        const c = new C({ mock: true, ...(C === HotShots ? HS_PLAIN : {}) });
        for (const [k, v] of Object.entries(want)) assert.equal(c[k], v, `${C.name} ${JSON.stringify(vars)} ${k}`);
      }
    });
  }
  // Sent where the URL says.
  await withEnv({ DD_DOGSTATSD_URL: `udp://127.0.0.1:${r.port}` }, async () => {
    const c = new Realm({ aggregation: false });
    c.increment('via.url');
    await c.close();
  });
  await r.until(() => r.lines.includes('via.url:1|c'));
  // An explicit option wins.
  await withEnv({ DD_DOGSTATSD_URL: 'udp://10.0.0.1:1' }, async () => {
    assert.equal(new Realm({ mock: true, host: 'localhost' }).host, 'localhost');
  });
  await r.close();
});
