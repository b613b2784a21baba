// protocol 'uds' (a Unix datagram socket): Node.js cannot bind one, so the receiver is a small
// Python 3 program (skipped when python3 is not on PATH).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pkg } from './helpers.mjs';

const { StatsD, RealmMetrics } = pkg;
const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('ready', flush=True)
s.settimeout(10)
try:
    while True:
        d = s.recv(65536)
        print(repr(len(d)) + ' ' + d.decode().replace('\\n', '\\\\n'), flush=True)
except Exception:
    pass
`;

test('uds: aggregated and per-call lines over a Unix datagram socket (8192-byte datagrams)', { skip: !hasPython && 'python3 not found' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-uds-'));
  const sock = path.join(dir, 'dsd.sock');
  const py = spawn('python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const datagrams = [];
  let out = '';
  await new Promise((resolve) => py.stdout.on('data', (d) => {
    out += d;
    const parts = out.split('\n');
    out = parts.pop();
    for (const p of parts) {
      if (p === 'ready') resolve();
      else datagrams.push({ size: Number(p.split(' ')[0]), lines: p.slice(p.indexOf(' ') + 1).split('\\n') });
    }
  }));
  const c = new StatsD({ protocol: 'uds', path: sock, bufferFlushInterval: 0 });
  const p = new StatsD({ protocol: 'uds', path: sock, aggregation: false, prefix: 'pc' });
  const m = new RealmMetrics({ protocol: 'uds', path: sock, prefix: 'rt', flushInterval: 0 });
  for (let i = 0; i < 1000; i += 1) { c.increment(`n${i}`, 2, ['k:v']); m.sessionStarted(); }
  p.gauge('g', 5, ['bare']);
  await c.close();
  await m.close();
  await p.close();
  const lines = () => datagrams.flatMap((d) => d.lines);
  const deadline = Date.now() + 5000;
  while ((lines().length < 1002) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  py.kill();
  fs.rmSync(dir, { recursive: true, force: true });
  const all = lines();
  assert.ok(all.includes('n999:2|c|#k:v'));
  assert.ok(all.includes('rt.session.started:1000|c'));
  assert.ok(all.includes('pc.g:5|g|#bare'));
  assert.equal(all.filter((l) => l.endsWith('|c|#k:v')).length, 1000);
  assert.ok(datagrams.every((d) => d.size <= 8192), 'datagrams of at most 8192 bytes');
  assert.ok(datagrams.some((d) => d.size > 1432), 'packed past the UDP default');
});
