// Headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM, driven by playwright-core) and a
// read-only static file server on a free port, for the browser tests of the wasm package.

import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

// Serves the files under `root` on 127.0.0.1 (a free port): / is `index`, a path relative to root.
// Returns { base, close }.
export async function serveDir(root, index) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const rel = url.pathname === '/' ? index : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep)) {
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
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// Chromium's flags: no sandbox (the tests may run as root), no GPU, and no traffic of its own
// (updates, sync, QUIC probes, first-run pages).
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// A headless Chromium with a fresh profile (playwright passes the directory as --user-data-dir).
// Returns { context, close }.
export async function launchChromium() {
  const profile = mkdtempSync(path.join(tmpdir(), 'realm-metrics-chromium-'));
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  const options = { executablePath, headless: true, args: FLAGS, timeout: 60_000 };
  const context = await chromium.launchPersistentContext(profile, { ...options, viewport: { width: 1100, height: 760 } });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

// Opens `url` in a new page and collects page errors and console errors into the returned array.
export async function openPage(context, url) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}
