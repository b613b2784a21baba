// Mock mode, from hot-shots' README: the same calls on hot-shots and on this package give the
// same mockBuffer, line for line, and the same callback arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HotShots, Realm, HS_PLAIN, withRandom } from './helpers.mjs';

/**
 * Every metric method with hot-shots' documented overloads. Returns the callback arguments.
 * @param {any} c
 */
function script(c) {
  const calls = [];
  const cb = (...a) => calls.push(a.map((x) => (x instanceof Error ? 'Error' : x)));
  c.increment('a');
  c.increment('a', 2);
  c.increment('a', 2, 0.5);
  c.increment('a', 2, 0.5, ['k:v']);
  c.increment('a', 2, 0.5, ['k:v'], cb);
  c.increment('a', ['k:v']);
  c.increment('a', { k: 'v' }, cb);
  c.increment('a', 2, ['k:v'], cb);
  c.increment('a', cb);
  c.increment('a', 0);
  c.increment('a', -3);
  c.increment('a', 1.5);
  c.increment(['a', 'b'], 3, cb);
  c.increment('a', 1, { sampleRate: 0.25, tags: { z: 1 } }, cb);
  c.decrement('d');
  c.decrement('d', 4, ['k:v'], cb);
  c.decrement('d', ['k:v']);
  c.gauge('g', 10);
  c.gauge('g', 10.5, 0.5, ['k:v'], cb);
  c.gauge('g', -3, { k: 'v' });
  c.gaugeDelta('g', 5, cb);
  c.gaugeDelta('g', -2, ['k:v']);
  c.gaugeDelta('g', 0);
  c.timing('t', 12);
  c.timing('t', 12.25, 0.5, ['k:v'], cb);
  c.timing('t', 7, { k: 'v' }, cb);
  c.histogram('h', 3, cb);
  c.histogram('h', 3, 0.1, { k: 'v' });
  c.distribution('dist', 4, { sampleRate: 1, tags: ['x:y'] }, cb);
  c.distribution(['d1', 'd2'], 0.25);
  c.set('s', 'alice', cb);
  c.set('s', 'bob', 0.5, ['k:v']);
  c.set('s', 7, ['k:v'], cb);
  c.unique('u', 'carol', { k: 'v' });
  // Bare tags, tag sanitising (`,` `|` `#` `@` newlines; `:` in values kept), name sanitising.
  c.increment('bare', ['beta', 'k:v']);
  c.increment('odd', 1, ['t:a,b', 'k:v|#@', 'url:http://x/y', 'nl:a\nb', 'c,o:l']);
  c.increment('odd', 1, { 'a,b': 'c|d', e: 'f#g@h' });
  c.increment('na:me|x\ny');
  c.timing(['t1', 't2'], 5, ['k:v'], cb);
  // DogStatsD timestamps: `|T<seconds>` (a Date, or a number rounded).
  c.gauge('ts', 1, { timestamp: new Date(1700000000499), tags: ['k:v'] });
  c.increment('ts', 1, { timestamp: 1700000001 }, cb);
  return calls;
}

const CASES = [
  ['defaults', {}],
  ['prefix, suffix (dots added), global tags', { prefix: 'app', suffix: 'total', globalTags: { env: 'prod', k: 'global' } }],
  ['prefix and suffix with their dots', { prefix: 'app.', suffix: '.total', globalTags: ['env:prod', 'lonely'] }],
  ['tagPrefix and tagSeparator', { tagPrefix: '^', tagSeparator: ';', globalTags: ['env:prod'] }],
  ['telegraf', { telegraf: true, globalTags: { env: 'prod' } }],
  ['client sampleRate', { sampleRate: 0.5 }],
];

for (const [name, opts] of CASES) {
  test(`mock mode, ${name}: the same mockBuffer and callbacks as hot-shots`, () => {
    for (const random of [0, 0.99]) {
      const hs = new HotShots({ ...opts, ...HS_PLAIN, mock: true });
      const ours = new Realm({ ...opts, mock: true });
      const hsCalls = withRandom(random, () => script(hs));
      const ourCalls = withRandom(random, () => script(ours));
      assert.deepEqual(ours.mockBuffer, hs.mockBuffer, `Math.random() = ${random}`);
      assert.deepEqual(ourCalls, hsCalls);
      if (random === 0) assert.ok(hs.mockBuffer.length > 10);
    }
  });
}

test('mock mode: a global tag is replaced by a metric tag of the same key', () => {
  const hs = new HotShots({ mock: true, ...HS_PLAIN, globalTags: ['env:prod', 'region:eu'] });
  const ours = new Realm({ mock: true, globalTags: ['env:prod', 'region:eu'] });
  for (const c of [hs, ours]) {
    c.increment('x', ['env:dev']);
    c.gauge('y', 1, { region: 'us', env: 'qa' });
  }
  assert.deepEqual(ours.mockBuffer, hs.mockBuffer);
  assert.deepEqual(ours.mockBuffer, ['x:1|c|#region:eu,env:dev', 'y:1|g|#region:us,env:qa']);
});

test('mock mode: event and check (StatsD.CHECKS) lines as hot-shots writes them', () => {
  const hs = new HotShots({ mock: true, ...HS_PLAIN, prefix: 'p', globalTags: ['env:prod'] });
  const ours = new Realm({ mock: true, prefix: 'p', globalTags: ['env:prod'] });
  const date = new Date(1700000000123);
  const cbs = [[], []];
  [hs, ours].forEach((c, i) => {
    const cb = (...a) => cbs[i].push(a);
    c.event('Deploy', 'line one\nline two', {
      date_happened: date, hostname: 'h1', aggregation_key: 'k', priority: 'low', source_type_name: 'st', alert_type: 'error',
    }, ['v:1'], cb);
    c.event('Title only');
    c.event('t', 'x', undefined, cb);
    c.check('svc.up', c.CHECKS.OK);
    c.check('svc.up', c.CHECKS.CRITICAL, { date_happened: date, hostname: 'h1', message: 'down' }, ['k:v'], cb);
    c.check('svc.up', c.CHECKS.WARNING, undefined, cb);
  });
  assert.deepEqual(ours.mockBuffer, hs.mockBuffer);
  assert.deepEqual(cbs[1], cbs[0]);
  assert.deepEqual(Realm.CHECKS, { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 });
  assert.deepEqual(Realm.StatsD.CHECKS, hs.CHECKS);
});

test('mock mode: event and check with telegraf go to the callback, else errorHandler, else throw', () => {
  for (const C of [HotShots, Realm]) {
    const errs = [];
    const c = new C({ mock: true, telegraf: true });
    c.event('t', 'x', {}, [], (e) => errs.push(e));
    c.check('s', 0, {}, [], (e) => errs.push(e));
    assert.throws(() => c.event('t'), /Telegraf/);
    assert.throws(() => c.check('s', 0), /Telegraf/);
    const h = new C({ mock: true, telegraf: true, errorHandler: (e) => errs.push(e) });
    h.event('t');
    h.check('s', 1);
    assert.equal(errs.length, 4, C.name);
    assert.ok(errs.every((e) => e instanceof Error && /Telegraf/.test(e.message)));
  }
});

test('mock mode: childClient adds prefix, suffix and tags; children nest', () => {
  const bufs = [HotShots, Realm].map((C) => {
    const parent = new C({ mock: true, ...HS_PLAIN, prefix: 'root', suffix: 'end', globalTags: { env: 'prod', k: 'p' } });
    const child = parent.childClient({ prefix: 'child', suffix: 'x', globalTags: { k: 'c', extra: 'e' } });
    const grandchild = child.childClient({ prefix: 'gc.', globalTags: ['bare'] });
    parent.increment('m');
    child.increment('m', 2, ['k:call']);
    grandchild.gauge('g', 3);
    grandchild.timing('t', 4, ['env:dev']);
    return [parent.mockBuffer, child.mockBuffer, grandchild.mockBuffer];
  });
  assert.deepEqual(bufs[1], bufs[0]);
  assert.deepEqual(bufs[1][1], ['child.root.m.end.x:2|c|#env:prod,extra:e,k:call']);
});

test('mock mode: timer, asyncTimer and asyncDistTimer record one sample per call, with added tags', async () => {
  const shape = (l) => l.replace(/:[0-9.e-]+\|/, ':N|');
  const results = [];
  for (const C of [HotShots, Realm]) {
    const c = new C({ mock: true, ...HS_PLAIN, globalTags: ['env:prod'] });
    const f = c.timer((a, b, ctx) => { ctx.addTags({ route: 'r' }); return a + b; }, 'sync.t', undefined, ['k:v']);
    assert.equal(f(1, 2), 3);
    const g = c.timer(() => { throw new Error('boom'); }, 'sync.throws');
    assert.throws(() => g(), /boom/);
    const h = c.asyncTimer(async (x, ctx) => { ctx.addTags(['extra:1']); await new Promise((r) => setTimeout(r, 5)); return x * 2; }, 'async.t', 1, { k: 'v' });
    assert.equal(await h(21), 42);
    const d = c.asyncDistTimer(async () => { throw new Error('no'); }, 'async.d');
    await assert.rejects(d(), /no/);
    await new Promise((r) => setImmediate(r));
    results.push(c.mockBuffer.map(shape));
    const ms = Number(/:([0-9.]+)\|/.exec(c.mockBuffer[2])[1]);
    assert.ok(ms >= 4, `asyncTimer measured ${ms} ms for a 5 ms wait`);
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[1], [
    'sync.t:N|ms|#env:prod,k:v,route:r', 'sync.throws:N|ms|#env:prod', 'async.t:N|ms|#env:prod,k:v,extra:1', 'async.d:N|d|#env:prod',
  ]);
});

test('mock mode: a timing with a Date is the time since then', () => {
  for (const C of [HotShots, Realm]) {
    const c = new C({ mock: true });
    c.timing('since', new Date(Date.now() - 1000));
    const ms = Number(/:([0-9.]+)\|ms$/.exec(c.mockBuffer[0])[1]);
    assert.ok(ms >= 1000 && ms < 5000, `${C.name}: ${ms}`);
  }
});
