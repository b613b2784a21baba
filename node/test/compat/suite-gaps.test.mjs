// Behaviours that hot-shots 17's own test suite checks and this package once missed, run on
// both clients in one process: option values that hot-shots warns about and replaces (it does
// not throw), a per-call sample rate of 0, DD_ENV against a child's globalTags, and the error of
// protocol 'stream' without a stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HotShots, Realm, HS_PLAIN } from './helpers.mjs';

/** Run `fn` with console.error captured; returns [result, messages]. */
function captureErrors(fn) {
  const seen = [];
  const orig = console.error;
  console.error = (...args) => { seen.push(args.map(String).join(' ')); };
  try {
    return [fn(), seen];
  } finally {
    console.error = orig;
  }
}

const BOTH = [['hot-shots', HotShots, HS_PLAIN], ['realm-metrics', Realm, {}]];

test("an invalid client sampleRate is warned about (console.error naming 'sampleRate') and replaced by 1, on both", () => {
  for (const bad of [0, -0.1, 1.1, 'half', NaN]) {
    const got = BOTH.map(([, C, extra]) => captureErrors(() => {
      const c = new C({ ...extra, mock: true, sampleRate: bad });
      c.increment('a', 1);
      return { rate: c.sampleRate, lines: c.mockBuffer.slice() };
    }));
    for (const [[name], [r, warned]] of BOTH.map((b, i) => [b, got[i]])) {
      assert.equal(r.rate, 1, `${name}: sampleRate ${String(bad)}`);
      assert.ok(warned.some((m) => m.includes("'sampleRate'")), `${name} warns about sampleRate ${String(bad)}`);
    }
    assert.deepEqual(got[1][0].lines, got[0][0].lines);
  }
  // A valid rate: no warning on either.
  for (const [name, C, extra] of BOTH) {
    const [, warned] = captureErrors(() => new C({ ...extra, mock: true, sampleRate: 0.5 }));
    assert.equal(warned.filter((m) => m.includes("'sampleRate'")).length, 0, name);
  }
});

test("an invalid bufferFlushInterval is warned about and replaced by 1000 ms, on both (not a throw)", () => {
  for (const bad of [-100, 'soon', NaN, Infinity, 2147483648]) {
    for (const [name, C, extra] of BOTH) {
      const [c, warned] = captureErrors(() => new C({ ...extra, mock: true, maxBufferSize: 1000, bufferFlushInterval: bad }));
      assert.equal(c.bufferFlushInterval, 1000, `${name}: bufferFlushInterval ${String(bad)}`);
      assert.ok(warned.some((m) => m.includes("'bufferFlushInterval'")), `${name} warns about ${String(bad)}`);
    }
  }
  for (const [name, C, extra] of BOTH) {
    const [c, warned] = captureErrors(() => new C({ ...extra, mock: true, maxBufferSize: 1000, bufferFlushInterval: 2147483647 }));
    assert.equal(c.bufferFlushInterval, 2147483647, name);
    assert.equal(warned.length, 0, name);
  }
});

test('a per-call sampleRate of 0 means "not given" (the client rate applies), positional and in options, on both', () => {
  const run = (C, extra) => {
    const c = new C({ ...extra, mock: true });
    c.increment('a', 1, 0);
    c.gauge('g', 2, 0, ['k:v']);
    c.histogram('h', 3, 0);
    c.increment('b', 1, { sampleRate: 0 });
    c.gauge('g2', 4, { sampleRate: 0, tags: { t: 'u' } });
    return c.mockBuffer.slice();
  };
  const hs = run(HotShots, HS_PLAIN);
  assert.deepEqual(hs, ['a:1|c', 'g:2|g|#k:v', 'h:3|h', 'b:1|c', 'g2:4|g|#t:u']);
  assert.deepEqual(run(Realm, {}), hs);
});

test("DD_ENV (and DD_SERVICE, DD_VERSION) win over a child's globalTags, DD_TAGS does not, on both", () => {
  const keys = ['DD_ENV', 'DD_SERVICE', 'DD_TAGS'];
  const saved = keys.map((k) => process.env[k]);
  process.env.DD_ENV = 'prod';
  process.env.DD_SERVICE = 'sync';
  process.env.DD_TAGS = 'team:a,zone:1';
  try {
    const run = (C, extra) => {
      const c = new C({ ...extra, mock: true, globalTags: { app: 'x' } });
      const child = c.childClient({ globalTags: ['env:childoverride', 'team:b', 'service:other', 'extra:1'] });
      child.increment('n', 1);
      const plain = c.childClient({ prefix: 'p.' });
      plain.increment('m', 1);
      return { tags: child.globalTags, lines: child.mockBuffer.concat(plain.mockBuffer) };
    };
    const hs = run(HotShots, HS_PLAIN);
    assert.ok(hs.tags.includes('env:prod') && hs.tags.includes('service:sync') && hs.tags.includes('team:b'));
    assert.ok(!hs.tags.includes('env:childoverride'));
    const ours = run(Realm, {});
    assert.deepEqual(ours.tags, hs.tags);
    assert.deepEqual(ours.lines, hs.lines);
  } finally {
    keys.forEach((k, i) => { if (saved[i] === undefined) delete process.env[k]; else process.env[k] = saved[i]; });
  }
});

test("protocol 'stream' without a stream: the errorHandler's error says the `stream` option is required, on both", () => {
  for (const [name, C, extra] of BOTH) {
    const errors = [];
    const c = new C({ ...extra, protocol: 'stream', errorHandler: (e) => errors.push(e) });
    assert.ok(errors.length >= 1, `${name} reports to errorHandler`);
    assert.ok(errors[0] instanceof Error, name);
    assert.ok(errors[0].message.includes('`stream` option required'), `${name}: ${errors[0].message}`);
    if (typeof c.close === 'function') c.close(() => {});
  }
});

test('maxBufferSize and bufferFlushInterval read back as hot-shots gives them; UDS caps maxBufferSize at 8192 with a warning', () => {
  const cases = [
    [{}, 0, 1000],
    [{ maxBufferSize: 0, bufferFlushInterval: 60 }, 0, 60],
    [{ maxBufferSize: 10000 }, 10000, 1000],
    [{ maxBufferSize: 10000, protocol: 'uds' }, 8192, 1000],
    [{ maxBufferSize: 1000, protocol: 'uds' }, 1000, 1000],
  ];
  for (const [opts, size, every] of cases) {
    for (const [name, C, extra] of BOTH) {
      const warned = [];
      const orig = console.warn;
      console.warn = (m) => { warned.push(String(m)); };
      let c;
      try {
        c = new C({ ...extra, mock: true, ...opts });
      } finally {
        console.warn = orig;
      }
      const what = `${name} ${JSON.stringify(opts)}`;
      assert.equal(c.maxBufferSize, size, what);
      assert.equal(c.bufferFlushInterval, every, what);
      const capped = warned.some((m) => m.includes('maxBufferSize') && m.includes('8192') && m.includes('UDS'));
      assert.equal(capped, opts.protocol === 'uds' && opts.maxBufferSize > 8192, what);
    }
  }
});

test("protocol 'stream': close()'s callback comes after the stream's 'close', with its 'error' and 'close' listener counts back to the program's, on both", async () => {
  const { Writable } = await import('node:stream');
  for (const [name, C, extra] of BOTH) {
    const stream = new Writable({ write(_chunk, _enc, cb) { cb(); } });
    const mine = () => {};
    stream.on('error', mine);
    const base = [stream.listenerCount('error'), stream.listenerCount('close')];
    const c = new C({ ...extra, protocol: 'stream', stream });
    c.increment('s', 1);
    // The callback comes once the stream has closed, with the counts back already.
    const counts = await new Promise((resolve) => c.close(() => resolve([stream.listenerCount('error'), stream.listenerCount('close')])));
    assert.ok(stream.closed || stream.destroyed, `${name}: the stream is closed`);
    assert.deepEqual(counts, base, name);
    assert.ok(stream.listeners('error').includes(mine), `${name} leaves the program's own listener`);
  }
});

test("protocol 'stream': a stream the program destroyed is reported to errorHandler with code ERR_STREAM_DESTROYED, nothing written, on both", async () => {
  const { Writable } = await import('node:stream');
  for (const [name, C, extra] of BOTH) {
    let writes = 0;
    const stream = new Writable({ write(_chunk, _enc, cb) { writes++; cb(); } });
    const errors = [];
    const c = new C({ ...extra, protocol: 'stream', stream, errorHandler: (e) => errors.push(e) });
    stream.destroy();
    c.increment('lost', 1);
    c.timing('lost.t', 5);
    if (typeof c.flush === 'function') c.flush();
    const until = Date.now() + 3000;
    while (errors.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(errors.length >= 1, `${name} reports the destroyed stream`);
    assert.equal(errors[0].code, 'ERR_STREAM_DESTROYED', name);
    assert.equal(writes, 0, name);
    // hot-shots never calls close's callback once its stream is destroyed: close without one.
    c.close();
  }
});
