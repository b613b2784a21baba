// The web build in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) loads test/browser/index.html from a local static server, which decodes a
// packet with the web build and shows the result in the DOM. Saves a screenshot to
// artifacts/wasm-browser.png at the repository root.
//
// Run: node --test wasm/test/browser/   (after wasm/build.sh and `npm ci` in wasm/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, '..', '..');
const repoRoot = path.resolve(wasmDir, '..');
const screenshot = path.join(repoRoot, 'artifacts', 'wasm-browser.png');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

// Serves wasm/ read-only: / is the test page, everything else a file under wasm/.
function serve(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const rel = url.pathname === '/' ? 'test/browser/index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
  const file = path.resolve(wasmDir, rel);
  if (!file.startsWith(wasmDir + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  } catch {
    res.writeHead(404).end();
  }
}

let server;
let context;
let profile;
let base;

before(async () => {
  server = http.createServer(serve);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  profile = mkdtempSync(path.join(tmpdir(), 'realm-metrics-chromium-'));
  // A fresh profile directory: playwright passes it as --user-data-dir.
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1100, height: 760 },
    timeout: 60_000,
  });
});

after(async () => {
  await context?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the web build decodes a packet in Chromium and shows it in the DOM', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('body[data-status="done"], body[data-status="failed"]', { timeout: 30_000 });
  assert.equal(await page.getAttribute('body', 'data-status'), 'done', await page.textContent('#status'));
  assert.deepStrictEqual(problems, []);

  const rows = await page.$$eval('#metrics tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.deepStrictEqual(rows, [
    ['1', 'realm.worker-3.connection.online', 'g', '42', 'connection.online', 'worker-3', '{}'],
    ['2', 'realm.worker-3.protocol.7.used', 'c', '1', 'protocol.<version>.used', 'worker-3', '{}'],
    ['3', 'realm.worker-3.session.started', 'c', '2', 'session.started', 'worker-3', '{"env":"prod","<b>bold</b>":"1"}'],
    ['4', 'realm.worker-3.connection.online', 'c', '1', '(kind mismatch)', '-', '{}'],
    ['6', 'café.é', 'ms', '1.5', '-', '-', '{}'],
  ]);
  // A tag that looks like markup stays text.
  assert.equal(await page.$$eval('#metrics b', (bs) => bs.length), 0);
  const errors = await page.$$eval('#errors li', (lis) => lis.map((li) => li.textContent));
  assert.deepStrictEqual(errors, ["line 5 column 9: expected ':' after the metric name at end of line"]);
  assert.equal(
    await page.textContent('#columns'),
    '5 rows; values 42, 1, 2, 1, 1.5; catalog ids 6, 12, 1, -1, -1; 18 catalog rows; 1 error',
  );

  mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(statSync(screenshot).size > 1000);
  await page.close();
});
