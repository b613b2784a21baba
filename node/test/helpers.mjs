// Test helpers: a real UDP receiver on an ephemeral port, and line parsing.
import dgram from 'node:dgram';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** The package (CommonJS entry). */
export const pkg = require('../lib/index.js');

/** A dgram receiver on 127.0.0.1:0 that keeps every line it gets. */
export async function receiver() {
  const socket = dgram.createSocket('udp4');
  const lines = [];
  let datagrams = 0;
  const waiters = new Set();
  socket.on('message', (msg) => {
    datagrams += 1;
    for (const l of msg.toString('utf8').split('\n')) if (l) lines.push(l);
    for (const w of waiters) w();
  });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    port,
    lines,
    get datagrams() { return datagrams; },
    /** Sum of the counter values per name. */
    counts() {
      const m = new Map();
      for (const l of lines) {
        const match = /^([^:]+):(-?[0-9.]+)\|c/.exec(l);
        if (match) m.set(match[1], (m.get(match[1]) || 0) + Number(match[2]));
      }
      return m;
    },
    /** Wait until `pred()` holds (polling on every datagram), or time out. */
    async until(pred, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out; lines: ${JSON.stringify(lines.slice(-10))}`);
        await new Promise((r) => {
          const done = () => { waiters.delete(done); clearTimeout(t); r(); };
          const t = setTimeout(done, 20);
          waiters.add(done);
        });
      }
    },
    close() { return new Promise((r) => socket.close(r)); },
  };
}

/** Bind a UDP port, then close it: nothing listens there afterwards. */
export async function deadPort() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
