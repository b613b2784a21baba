// Shared by the dashboard tests: start `realm-metrics dashboard`, read the addresses it prints,
// stop it with SIGINT, and a raw WebSocket handshake (Node 20 has no WebSocket client that can
// set Origin).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const bin = process.env.REALM_METRICS_BIN
  ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, 'target'), 'debug', 'realm-metrics');

/** How `startDashboard` runs the binary: `launch(args)` returns the child process (stdio: ignore,
 * pipe, pipe). By default `bin` itself; see `setDashboardLauncher`. */
let launch = (args) => spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Run every later `startDashboard` (in this process) through `fn(args)`, e.g.
 * `hiddenTreeLauncher`: the tests of a file then run against that binary instead of `bin`. */
export function setDashboardLauncher(fn) {
  launch = fn;
}

/** A launcher for `setDashboardLauncher` that runs `dir/realm-metrics` with the source tree
 * hidden: in a new mount namespace (`unshare -m`, as root) with an empty tmpfs over `repoRoot`,
 * from `dir`, with HOME=`dir`/home. The child's PID is the binary's (unshare and sh exec), so
 * signals reach it. It exits 97 if the tree is still visible. */
export function hiddenTreeLauncher(dir) {
  const script = [
    'set -e',
    'root=$1; dir=$2; shift 2',
    'mount -t tmpfs -o size=1m,mode=0755 realm-metrics-hidden-tree "$root"',
    'if [ -e "$root/Cargo.toml" ] || [ -e "$root/wasm" ]; then echo "the source tree is still visible" >&2; exit 97; fi',
    'cd "$dir"',
    'exec ./realm-metrics "$@"',
  ].join('\n');
  const env = { PATH: process.env.PATH, HOME: path.join(dir, 'home'), LANG: 'C.UTF-8' };
  return (args) => spawn('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', repoRoot, dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
    env,
  });
}

/** Start the dashboard on free ports with its store in a new temporary folder (or `data`);
 * resolves once both addresses are printed. */
export function startDashboard(args = [], { data } = {}) {
  const ownData = !data;
  const dataDir = data ?? mkdtempSync(path.join(tmpdir(), 'realm-metrics-dashboard-data-'));
  const child = launch(['dashboard', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data', dataDir, ...args]);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    if (ownData) rmSync(dataDir, { recursive: true, force: true });
    resolve({ code, signal });
  }));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dashboard did not print its addresses:\n${stdout}\n${stderr}`)), 20_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const url = /^dashboard: (http:\/\/\S+)$/m.exec(stdout)?.[1];
      const udp = /^statsd listener: udp:\/\/(\S+):(\d+)$/m.exec(stdout);
      if (url && udp) {
        clearTimeout(timer);
        resolve({ url, udpHost: udp[1], udpPort: Number(udp[2]), httpPort: Number(new URL(url).port) });
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dashboard exited (${code}):\n${stderr}`)); });
  });
  return {
    child,
    ready,
    dataDir,
    get stderr() { return stderr; },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}

/** Send a raw WebSocket upgrade request; resolves with the status and the open socket. */
export function wsHandshake(port, origin, { host = `127.0.0.1:${port}` } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error('handshake timed out')); });
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(
        'GET /ws HTTP/1.1\r\n'
        + `Host: ${host}\r\n`
        + 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
        + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
        + (origin ? `Origin: ${origin}\r\n` : '')
        + '\r\n',
      );
    });
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      const head = buf.subarray(0, end).toString('latin1');
      const rest = buf.subarray(end + 4);
      const status = Number(head.split(' ')[1]);
      resolve({ status, head, socket, rest });
    };
    socket.on('data', onData);
  });
}

/** Read server frames (unmasked) from `socket`, starting with `initial`, until `want` returns true. */
export function readFrames(socket, initial, want, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let buf = initial;
    const timer = setTimeout(() => { cleanup(); reject(new Error('no matching frame')); }, timeoutMs);
    const cleanup = () => { clearTimeout(timer); socket.off('data', onData); };
    const parse = () => {
      for (;;) {
        if (buf.length < 2) return;
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (want(opcode, payload)) { cleanup(); resolve(payload); return; }
      }
    };
    const onData = (d) => { buf = Buffer.concat([buf, d]); parse(); };
    socket.on('data', onData);
    socket.resume();
    parse();
  });
}

/** Headless Debian Chromium (or $CHROMIUM) with its profile in `profileDir`, as every page test
 * runs it. */
export function launchChromium(profileDir) {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
}

/** Datagrams to a dashboard: `send(lines)` sends the lines joined by \n (or a string as it is)
 * as one datagram to `getAddr()` (the addresses `startDashboard().ready` resolves to). */
export function udpSender(getAddr) {
  const socket = dgram.createSocket('udp4');
  return {
    send(lines) {
      const addr = getAddr();
      const text = Array.isArray(lines) ? lines.join('\n') : lines;
      return new Promise((resolve, reject) => {
        socket.send(Buffer.from(text), addr.udpPort, addr.udpHost, (err) => (err ? reject(err) : resolve()));
      });
    },
    close() { socket.close(); },
  };
}
