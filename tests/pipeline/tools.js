'use strict';
// Small helpers for tests/pipeline/run.sh (Node >= 18, no dependencies):
//   node tools.js ports tcp|udp N     N distinct free loopback ports (bound to port 0 together,
//                                     then closed; the caller retries if a daemon loses a race)
//   node tools.js wait-http URL MS    until URL answers 2xx (exit 1 after MS milliseconds)
//   node tools.js wait-tcp PORT MS    until 127.0.0.1:PORT accepts a connection
//   node tools.js statsd-health PORT MS
//                                     until statsd's management port answers "health: up"

const net = require('node:net');
const dgram = require('node:dgram');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ports(kind, n) {
  const socks = [];
  const out = [];
  for (let i = 0; i < n; i++) {
    if (kind === 'udp') {
      const s = dgram.createSocket('udp4');
      await new Promise((res, rej) => { s.once('error', rej); s.bind(0, '127.0.0.1', res); });
      socks.push(s);
      out.push(s.address().port);
    } else {
      const s = net.createServer();
      await new Promise((res, rej) => { s.once('error', rej); s.listen(0, '127.0.0.1', res); });
      socks.push(s);
      out.push(s.address().port);
    }
  }
  for (const s of socks) s.close();
  console.log(out.join(' '));
}

async function until(ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) process.exit(1);
    await sleep(100);
  }
}

function tcpExchange(port, send, expect) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok) => { c.destroy(); resolve(ok); };
    c.setTimeout(1000, () => done(false));
    c.on('error', () => done(false));
    c.on('connect', () => { if (send === null) done(true); else c.write(send); });
    c.on('data', (d) => { buf += d; if (expect && buf.includes(expect)) done(true); });
  });
}

async function main() {
  const [cmd, a, b] = process.argv.slice(2);
  switch (cmd) {
    case 'ports':
      return ports(a, Number(b));
    case 'wait-http':
      return until(Number(b), async () => (await fetch(a, { signal: AbortSignal.timeout(1000) })).ok);
    case 'wait-tcp':
      return until(Number(b), () => tcpExchange(Number(a), null, null));
    case 'statsd-health':
      return until(Number(b), () => tcpExchange(Number(a), 'health\n', 'health: up'));
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

main().catch((e) => {
  console.error('tools.js:', e.message);
  process.exit(2);
});
