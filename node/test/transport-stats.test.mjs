// stats() reports what the stream transports do: failed connection attempts, and lines still
// unwritten when the client closes against a server that is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const StatsD = require('../lib/index.js');

/** A TCP port on 127.0.0.1 with nothing listening (bound once, then closed). */
async function deadPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('tcp to a port with no server: connectErrors counts the attempts, close counts the lines left', async () => {
  const port = await deadPort();
  const errors = [];
  const client = new StatsD({ host: '127.0.0.1', port, protocol: 'tcp', errorHandler: (e) => errors.push(e) });
  client.increment('requests', 3);
  client.gauge('queue.depth', 7);
  await client.flush();
  const deadline = Date.now() + 5000;
  while (client.stats().connectErrors === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const before = client.stats();
  assert.ok(before.connectErrors >= 1, `connectErrors ${before.connectErrors}`);
  assert.equal(before.linesSent, 2);
  assert.ok(before.backlogBytes > 0, 'the two lines wait in the backlog');
  await client.close();
  const after = client.stats();
  // Nothing was ever written: every line sent to the transport (the close's final flush re-sends
  // the gauge) is counted as dropped.
  assert.ok(after.linesSent >= 2);
  assert.equal(after.linesDroppedBacklog, after.linesSent, 'the unwritten lines are counted at close');
  assert.equal(after.backlogBytes, 0);
  // The errorHandler hears of it from the native side, on a later turn of the event loop.
  const told = Date.now() + 2000;
  while (errors.length === 0 && Date.now() < told) await new Promise((r) => setTimeout(r, 20));
  assert.ok(errors.length >= 1, 'the errorHandler was told');
  assert.match(String(errors[0].message), /connect|refused/i);
});
