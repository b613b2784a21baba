// Helpers of the hot-shots compatibility tests: receivers on real sockets (UDP, TCP, Unix
// stream), both clients side by side, and what a StatsD daemon would make of their lines.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { receiver } from '../helpers.mjs';

const require = createRequire(import.meta.url);
/** hot-shots 17 (the devDependency). */
export const HotShots = require('hot-shots');
/** This package. */
export const Realm = require('../../lib/index.js');

export { receiver };

/**
 * A newline-framed stream receiver: TCP on 127.0.0.1:0, or a Unix stream socket at a temporary
 * path. Keeps every line.
 * @param {'tcp' | 'unix'} kind
 */
export async function streamReceiver(kind) {
  const lines = [];
  let connections = 0;
  const sockets = new Set();
  const server = net.createServer((s) => {
    connections += 1;
    sockets.add(s);
    let rest = '';
    s.on('data', (d) => {
      rest += d.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop();
      for (const l of parts) if (l) lines.push(l);
    });
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  let address;
  let dir;
  if (kind === 'tcp') {
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    address = { host: '127.0.0.1', port: server.address().port };
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-compat-'));
    const p = path.join(dir, 's.sock');
    await new Promise((r) => server.listen(p, r));
    address = { path: p };
  }
  return {
    ...address,
    lines,
    get connections() { return connections; },
    /** Close every accepted connection (the client must reconnect). */
    drop() { for (const s of sockets) s.destroy(); },
    async until(pred, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out; lines: ${JSON.stringify(lines.slice(-10))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); r(); }));
    },
  };
}

/** A receiver of `kind`: 'udp', 'tcp' or 'unix' (stream). */
export function anyReceiver(kind) {
  return kind === 'udp' ? receiver() : streamReceiver(kind);
}

/**
 * Client options to reach receiver `r` of `kind`, for hot-shots and for this package.
 * @returns {{hs: object, ours: object}}
 */
export function transportOptions(kind, r) {
  if (kind === 'udp') return { hs: { host: '127.0.0.1', port: r.port }, ours: { host: '127.0.0.1', port: r.port } };
  if (kind === 'tcp') return { hs: { protocol: 'tcp', host: '127.0.0.1', port: r.port }, ours: { protocol: 'tcp', host: '127.0.0.1', port: r.port } };
  return { hs: { protocol: 'stream', stream: net.createConnection(r.path) }, ours: { protocol: 'stream', path: r.path } };
}

/** Options that keep hot-shots 17 from adding what older versions did not (telemetry, origin fields). */
export const HS_PLAIN = { datadog: false, includeDatadogTelemetry: false };

/** Close a hot-shots client. */
export function closeHs(c) {
  return new Promise((r) => c.close(() => r()));
}

/** Run `fn` with Math.random() returning `v` (both clients sample with Math.random). */
export function withRandom(v, fn) {
  const saved = Math.random;
  Math.random = () => v;
  try {
    return fn();
  } finally {
    Math.random = saved;
  }
}

/**
 * What a StatsD daemon keeps from `lines`, per series (`name|type|tags`): counters summed
 * (scaled by 1/rate), gauges applied in order (`+N`/`-N` change a gauge, as in Etsy statsd),
 * set members deduplicated, timings/histograms/distributions as sorted lists, events and
 * service checks as sorted lists of lines.
 * @param {string[]} lines
 */
export function totals(lines) {
  const out = new Map();
  for (const line of lines) {
    if (line.startsWith('_e{') || line.startsWith('_sc|')) {
      const k = line.startsWith('_e') ? 'events' : 'checks';
      out.set(k, [...(out.get(k) || []), line].sort());
      continue;
    }
    const m = /^([^:]+):([^|]*)\|([a-z]+)((?:\|[^|]*)*)$/.exec(line);
    if (!m) throw new Error(`not a StatsD line: ${JSON.stringify(line)}`);
    const [, name, value, type, restRaw] = m;
    let rate = 1;
    let tags = '';
    for (const f of restRaw.split('|').slice(1)) {
      if (f.startsWith('@')) rate = Number(f.slice(1));
      else tags += '|' + f;
    }
    const key = `${name}|${type}${tags}`;
    if (type === 'c') out.set(key, (out.get(key) || 0) + Number(value) / rate);
    else if (type === 'g') {
      const delta = value.startsWith('+') || value.startsWith('-');
      out.set(key, delta ? (out.get(key) || 0) + Number(value) : Number(value));
    } else if (type === 's') out.set(key, [...new Set([...(out.get(key) || []), value])].sort());
    else out.set(key, [...(out.get(key) || []), Number(value)].sort((a, b) => a - b));
  }
  // Counters that sum to 0 are not sent after aggregation: a daemon sees the same nothing.
  for (const [k, v] of out) if (k.includes('|c') && v === 0) out.delete(k);
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
