// `realm-metrics dashboard --demo` in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): live demo data under the catalog's names, malformed lines with the decoder's
// messages, markup in metric names shown as text, and the WebSocket's origin check.
// Saves a screenshot to artifacts/dashboard.png (and docs/dashboard.png when it is missing or
// REALM_METRICS_UPDATE_SCREENSHOT=1). REALM_METRICS_DASHBOARD_DATA=DIR starts the dashboard on the
// store in DIR instead of an empty one: for docs/dashboard.png, a store where
// `realm-metrics dashboard --demo --data DIR` ran for 15 minutes, so the charts show history.
//
// Run: bash cli/dashboard/test.sh   (builds what it needs first)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bin, launchChromium, readFrames, repoRoot, startDashboard, udpSender, wsHandshake } from './helpers.mjs';

const screenshot = path.join(repoRoot, 'artifacts', 'dashboard.png');
const docsScreenshot = path.join(repoRoot, 'docs', 'dashboard.png');

let dash;
let addr;
let context;
let profile;

const udp = udpSender(() => addr);
const send = (text) => udp.send(text);

before(async () => {
  const data = process.env.REALM_METRICS_DASHBOARD_DATA || undefined;
  dash = startDashboard(['--demo'], { data });
  addr = await dash.ready;
  profile = mkdtempSync(path.join(tmpdir(), 'realm-metrics-dashboard-chromium-'));
  context = await launchChromium(profile);
});

after(async () => {
  udp.close();
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (dash) {
    const { code, signal } = await dash.stop();
    assert.equal(code, 0, `dashboard exit on SIGINT: code ${code} signal ${signal}\n${dash.stderr}`);
  }
});

test('the page shows demo data, malformed lines and markup as text', async () => {
  const page = await context.newPage();
  const problems = [];
  const dialogs = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(addr.url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-status="live"], body[data-status="failed"]', { timeout: 30_000 });
  assert.equal(await page.getAttribute('body', 'data-status'), 'live', await page.textContent('#status'));

  // One chart per catalog row, with the catalog's description on hover.
  assert.equal(await page.$$eval('[data-metric]', (cards) => cards.length), 18);
  const title = await page.getAttribute('[data-metric="connection.online"]', 'title');
  assert.match(title, /connections currently open/);

  // Demo data under the catalog's names, within 15 s.
  const live = ['connection.started', 'connection.online', 'session.started', 'session.online'];
  await page.waitForFunction(
    (names) => names.every((n) => Number(document.querySelector(`[data-metric="${n}"]`)?.dataset.last) > 0),
    live, { timeout: 15_000, polling: 250 },
  );
  for (const n of live) {
    const last = Number(await page.getAttribute(`[data-metric="${n}"]`, 'data-last'));
    assert.ok(last > 0, `${n}: ${last}`);
  }

  // A malformed datagram: the decoder's message (as `realm-metrics decode` gives it) and the raw line.
  const bad = 'realm.test-host.session.started:abc|c';
  const decoded = spawnSync(bin, ['decode'], { input: bad + '\n' });
  assert.equal(decoded.status, 1, 'decode exits 1 on a malformed line');
  const expected = JSON.parse(decoded.stdout.toString().split('\n')[0]);
  assert.ok(expected.error, 'decode reports an error');
  await send(`realm.test-host.session.started:1|c\n${bad}`);
  await page.waitForFunction(
    (raw) => [...document.querySelectorAll('#malformed tbody tr')].some((tr) => tr.children[4]?.textContent === raw),
    bad, { timeout: 10_000 },
  );
  const row = await page.$$eval('#malformed tbody tr', (trs, raw) => {
    const tr = trs.find((t) => t.children[4]?.textContent === raw);
    return [...tr.children].map((td) => td.textContent);
  }, bad);
  assert.deepStrictEqual(row.slice(1), ['2', String(expected.column), expected.error, bad]);

  // Markup in a metric name is text in the custom table, and runs nothing.
  const evil = '<img src=x onerror=alert(1)>';
  await send(`${evil}:1|c`);
  await page.waitForFunction(
    (name) => [...document.querySelectorAll('#custom-metrics tbody td')].some((td) => td.textContent === name),
    evil, { timeout: 10_000 },
  );
  await page.waitForTimeout(500);
  assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0, 'no <img> element was created');
  assert.deepStrictEqual(dialogs, []);

  // Protocol versions in use, and the host selector for the two demo workers.
  await page.waitForFunction(() => document.querySelectorAll('#protocol-versions tbody tr:not(.empty)').length >= 2, null, { timeout: 10_000 });
  const versions = await page.$$eval('#protocol-versions tbody tr', (trs) => trs.map((tr) => tr.children[0].textContent));
  assert.ok(versions.every((v) => ['22', '23', '24'].includes(v)), versions.join());
  await page.waitForSelector('#host-picker:not([hidden])', { timeout: 10_000 });
  const hosts = await page.$$eval('#host option', (os) => os.map((o) => o.value));
  assert.ok(hosts.includes('demo-worker-1') && hosts.includes('demo-worker-2'), hosts.join());
  await page.selectOption('#host', 'demo-worker-2');
  await page.waitForTimeout(1200);
  assert.ok(Number(await page.getAttribute('[data-metric="connection.online"]', 'data-last')) > 0);
  await page.selectOption('#host', '');

  // A few more seconds of data for the picture.
  await page.waitForTimeout(4000);
  mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
  assert.ok(statSync(screenshot).size > 10_000);
  if (!existsSync(docsScreenshot) || process.env.REALM_METRICS_UPDATE_SCREENSHOT === '1') {
    mkdirSync(path.dirname(docsScreenshot), { recursive: true });
    copyFileSync(screenshot, docsScreenshot);
  }
  assert.deepStrictEqual(dialogs, []);
  assert.deepStrictEqual(problems, []);
  await page.close();
});

test('the WebSocket accepts only the page\'s own origin', async () => {
  const port = addr.httpPort;
  for (const origin of ['http://evil.example', `http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`, 'null', null]) {
    const { status, socket } = await wsHandshake(port, origin);
    socket.destroy();
    assert.equal(status, 403, `Origin ${origin}`);
  }
  const { status, head, socket, rest } = await wsHandshake(port, `http://127.0.0.1:${port}`);
  assert.equal(status, 101, head);
  assert.match(head, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  // Binary frames are datagrams; the first text frame is the relay's counts.
  const stats = await readFrames(socket, rest, (op) => op === 1);
  const s = JSON.parse(stats.toString());
  assert.equal(typeof s.dropped, 'number');
  assert.equal(typeof s.received, 'number');
  socket.destroy();
});

test('only whitelisted paths are served, with their content types', async () => {
  const get = async (p, headers) => {
    const r = await fetch(new URL(p, addr.url), { headers });
    return [r.status, r.headers.get('content-type')];
  };
  assert.deepStrictEqual(await get('/'), [200, 'text/html; charset=utf-8']);
  assert.deepStrictEqual(await get('/app.js'), [200, 'text/javascript; charset=utf-8']);
  assert.deepStrictEqual(await get('/wasm/realm_metrics_wasm_bg.wasm'), [200, 'application/wasm']);
  assert.deepStrictEqual(await get('/uplot/uPlot.esm.js'), [200, 'text/javascript; charset=utf-8']);
  assert.equal((await get('/%2e%2e/Cargo.toml'))[0], 404);
  assert.equal((await get('/wasm/../../Cargo.toml'))[0], 404);
  assert.equal((await get('/nope'))[0], 404);
});
