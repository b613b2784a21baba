// The core emitter's stream transports through the exported NativeEmitter: TCP and a Unix
// stream socket, newline-framed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { streamReceiver } from './compat/helpers.mjs';

const require = createRequire(import.meta.url);
const { NativeEmitter, inc, add } = require('../index.js');

for (const kind of ['tcp', 'unix']) {
  test(`NativeEmitter over ${kind === 'tcp' ? 'TCP' : 'a Unix stream socket'} (core's EmitterBuilder::${kind === 'tcp' ? 'tcp' : 'unix_stream'})`, async () => {
    const r = await streamReceiver(kind);
    const opts = kind === 'tcp'
      ? { protocol: 'tcp', host: '127.0.0.1', port: r.port, prefix: '', flushIntervalMs: 0 }
      : { protocol: 'stream', path: r.path, prefix: '', flushIntervalMs: 0 };
    const em = new NativeEmitter(opts);
    const h = em.counter('core.stream');
    inc(h);
    add(h, 4);
    em.close();
    await r.until(() => r.lines.includes('core.stream:5|c'));
    await r.close();
  });
}

test('NativeEmitter: an unknown protocol or a stream without a path is a typed error', () => {
  assert.throws(() => new NativeEmitter({ protocol: 'pigeon' }), (e) => e.code === 'ERR_REALM_METRICS_INVALID_CONFIG');
  assert.throws(() => new NativeEmitter({ protocol: 'stream' }), (e) => e.code === 'ERR_REALM_METRICS_INVALID_CONFIG');
});
