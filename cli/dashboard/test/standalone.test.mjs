// The release binary alone: copied into an empty temporary folder and run there with the source
// tree hidden (a new mount namespace with an empty tmpfs over the checkout, HOME in the folder),
// as after `cargo install`. The page, the wasm module and uPlot must come from the binary itself:
// they are served with the right types and bytes, the live charts decode datagrams with the wasm
// module, and then every test of dashboard.test.mjs runs against this binary too.
//
// Needs root (unshare -m, mount) and the release build: bash cli/dashboard/test.sh builds it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  hiddenTreeLauncher, launchChromium, repoRoot, setDashboardLauncher, startDashboard, udpSender,
} from './helpers.mjs';

const releaseBin = process.env.REALM_METRICS_RELEASE_BIN
  ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, 'target'), 'release', 'realm-metrics');
assert.ok(existsSync(releaseBin), `no release binary at ${releaseBin}: cargo build --release -p realm-metrics-cli`);

const dir = mkdtempSync(path.join(tmpdir(), 'realm-metrics-standalone-'));
const inside = (p, root) => !path.relative(root, p).startsWith('..') && !path.isAbsolute(path.relative(root, p));
assert.ok(!inside(dir, repoRoot), `the temporary folder ${dir} is inside the checkout ${repoRoot}: set TMPDIR`);
copyFileSync(releaseBin, path.join(dir, 'realm-metrics'));
chmodSync(path.join(dir, 'realm-metrics'), 0o755);
mkdirSync(path.join(dir, 'home'));
assert.deepStrictEqual(readdirSync(dir).sort(), ['home', 'realm-metrics']);
const launcher = hiddenTreeLauncher(dir);
setDashboardLauncher(launcher);
after(() => rmSync(dir, { recursive: true, force: true }));

// The same assertions as the dashboard browser test, against the binary alone: its tests start
// the dashboard through startDashboard, which now runs the hidden-tree launcher. (Imported first,
// so that its before/after hooks are registered before any test of this file starts.)
await import('./dashboard.test.mjs');

/** Run the hidden-tree binary with `args` to its end: { status, stdout, stderr }. */
function runHidden(args) {
  const child = launcher(args);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

// The files of the source tree that the binary must serve, by URL path.
const wasmDir = path.join(repoRoot, 'wasm', 'pkg', 'web');
const uplotDir = path.join(repoRoot, 'cli', 'dashboard', 'node_modules', 'uplot', 'dist');
function wasmFiles(d = wasmDir, rel = '') {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return wasmFiles(path.join(d, e.name), r);
    return /\.(js|wasm)$/.test(e.name) ? [[`/wasm/${r}`, path.join(d, e.name)]] : [];
  });
}
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const typeOf = (p) => (p.endsWith('.wasm') ? 'application/wasm' : p.endsWith('.css') ? CSS : JS);

test('the source tree is hidden from the binary', async () => {
  // The launcher checks it too (exit 97); here the binary itself cannot read a file of the tree.
  const r = await runHidden(['dashboard', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0',
    '--data', path.join(dir, 'unused'), '--assets', wasmDir]);
  assert.equal(r.status, 1, `--assets ${wasmDir} must be unreadable: ${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /not found in/);
  const v = await runHidden(['--version']);
  assert.equal(v.status, 0, v.stderr);
  const version = spawnSync(releaseBin, ['--version']).stdout.toString();
  assert.equal(v.stdout, version);
});

test('the binary alone serves the page, the wasm module and uPlot, and the charts decode live data', async () => {
  const dash = startDashboard();
  const addr = await dash.ready;
  const udp = udpSender(() => addr);
  const profile = mkdtempSync(path.join(tmpdir(), 'realm-metrics-standalone-chromium-'));
  let context;
  try {
    const files = [
      ...wasmFiles(),
      ['/uplot/uPlot.esm.js', path.join(uplotDir, 'uPlot.esm.js')],
      ['/uplot/uPlot.min.css', path.join(uplotDir, 'uPlot.min.css')],
      ['/app.js', path.join(repoRoot, 'cli', 'dashboard', 'app.js')],
      ['/style.css', path.join(repoRoot, 'cli', 'dashboard', 'style.css')],
    ];
    assert.ok(files.some(([u]) => u === '/wasm/realm_metrics_wasm_bg.wasm'), files.map(([u]) => u).join());
    // Each file as it was when the binary was built. (A file rebuilt since, say by
    // `bash wasm/build.sh` while this runs, can only be checked for its status and type.)
    const built = statSync(releaseBin).mtimeMs;
    for (const [url, file] of files) {
      const r = await fetch(new URL(url, addr.url));
      const newer = statSync(file).mtimeMs > built;
      if (newer && r.status === 404) continue;
      assert.equal(r.status, 200, url);
      assert.equal(r.headers.get('content-type'), typeOf(url), url);
      const body = Buffer.from(await r.arrayBuffer());
      if (url.endsWith('.wasm')) assert.ok(body.subarray(0, 4).equals(Buffer.from('\0asm')), url);
      assert.ok(newer || body.equals(readFileSync(file)), `${url} is not ${file}`);
    }
    const index = await fetch(addr.url);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await index.text(), readFileSync(path.join(repoRoot, 'cli', 'dashboard', 'index.html'), 'utf8'));

    context = await launchChromium(profile);
    const page = await context.newPage();
    const problems = [];
    const loaded = new Map();
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('response', (r) => loaded.set(new URL(r.url()).pathname, r.status()));
    await page.goto(addr.url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-status="live"], body[data-status="failed"]', { timeout: 30_000 });
    assert.equal(await page.getAttribute('body', 'data-status'), 'live', await page.textContent('#status'));
    for (const u of ['/wasm/realm_metrics_wasm.js', '/wasm/realm_metrics_wasm_bg.wasm', '/uplot/uPlot.esm.js', '/uplot/uPlot.min.css']) {
      assert.equal(loaded.get(u), 200, `the page loaded ${u}: ${[...loaded].join(' ')}`);
    }
    // The catalog (from the wasm module) gives one uPlot chart per row.
    assert.equal(await page.$$eval('[data-metric]', (cards) => cards.length), 18);
    assert.ok(await page.$$eval('[data-metric] .uplot', (els) => els.length) >= 18, 'uPlot charts drawn');

    // Datagrams to the listener reach the charts through the WebSocket and the wasm decoder.
    const deadline = Date.now() + 15_000;
    let last = 0;
    while (last !== 42 && Date.now() < deadline) {
      await udp.send(['realm.standalone-host.connection.online:42|g', 'realm.standalone-host.session.started:3|c']);
      await page.waitForTimeout(300);
      last = Number(await page.getAttribute('[data-metric="connection.online"]', 'data-last'));
    }
    assert.equal(last, 42, 'connection.online on the chart');
    assert.ok(Number(await page.getAttribute('[data-metric="session.started"]', 'data-total')) > 0);
    assert.deepStrictEqual(problems, []);
    await page.close();
  } finally {
    udp.close();
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    const { code, signal } = await dash.stop();
    assert.equal(code, 0, `dashboard exit on SIGINT: code ${code} signal ${signal}\n${dash.stderr}`);
  }
});
