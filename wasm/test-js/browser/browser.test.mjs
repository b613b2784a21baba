// The web build in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) loads test/browser/index.html from a local static server, which decodes a
// packet with the web build and shows the result in the DOM. Saves a screenshot to
// artifacts/wasm-browser.png at the repository root.
//
// Run: node --test wasm/test-js/browser/   (after wasm/build.sh and `npm ci` in wasm/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, openPage, serveDir } from './chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, '..', '..');
const repoRoot = path.resolve(wasmDir, '..');
const screenshot = path.join(repoRoot, 'artifacts', 'wasm-browser.png');

let server;
let browser;

// wasm/ read-only: / is the test page, everything else a file under wasm/.
before(async () => {
  server = await serveDir(wasmDir, 'test-js/browser/index.html');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the web build decodes a packet in Chromium and shows it in the DOM', async () => {
  const { page, problems } = await openPage(browser.context, server.base + '/');
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
