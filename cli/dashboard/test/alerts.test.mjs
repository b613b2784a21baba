// Alerts on the page: with a rules file of one short-window rule on authentication.failed, the
// alerts panel lists the firing alert (rule, host, severity, summary, since when) and the header
// counts it, the authentication.failed chart marks when it fired (for the selected host only when
// one is selected; no other chart), and once the window passed the alert is listed as resolved
// with the badge back at 0. Host names and summaries with markup are text.
//
// Run: bash cli/dashboard/test.sh   (builds what it needs first)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bin, launchChromium, startDashboard, udpSender } from './helpers.mjs';

const HOST = 'alert-host';
const EVIL = '<b>x</b>';
const EVIL_IMG = '<img src=x onerror=alert(1)>';
const WINDOW = 4; // seconds
const RULES = `
[[rule]]
name = "AuthFailed"
metric = "authentication.failed"
condition = "increase > 0"
window = "${WINDOW}s"
severity = "critical"
summary = "{host}: {value} authentication failures in {window}"

[[rule]]
name = "TooManyRealms"
metric = "realms.open"
condition = "value > 1000"
severity = "warning"
`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let tmp;
let dash;
let addr;
let context;
const udp = udpSender(() => addr);
const send = (lines) => udp.send(lines);

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'realm-metrics-alerts-page-'));
  const rules = path.join(tmp, 'rules.toml');
  writeFileSync(rules, RULES);
  const check = spawnSync(bin, ['alerts', 'check', rules]);
  assert.equal(check.status, 0, `alerts check: ${check.stdout}${check.stderr}`);
  dash = startDashboard(['--alerts', rules]);
  addr = await dash.ready;
  context = await launchChromium(path.join(tmp, 'chromium'));
});

after(async () => {
  udp.close();
  await context?.close();
  if (dash) {
    const { code, signal } = await dash.stop();
    assert.equal(code, 0, `dashboard exit on SIGINT: code ${code} signal ${signal}\n${dash.stderr}`);
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const rows = (page, table) => page.$$eval(`#${table} tbody tr[data-alert-rule]`, (trs) => trs.map((tr) => ({
  rule: tr.dataset.alertRule,
  host: tr.dataset.alertHost,
  severity: tr.dataset.alertSeverity,
  status: tr.dataset.alertStatus,
  firedAt: Number(tr.dataset.firedAt),
  cells: [...tr.children].map((td) => td.textContent),
  titles: [...tr.children].map((td) => td.title),
})));
const alertsOn = (page, metric, kind) => page.$eval(`[data-metric="${metric}"][data-kind="${kind}"]`, (c) => Number(c.dataset.alerts));

test('a firing alert is listed, counted, marked on its chart, then listed as resolved', async () => {
  // These host names decode as hosts (the server evaluates them like any other).
  const decoded = spawnSync(bin, ['decode'], { input: `realm.${EVIL}.authentication.failed:1|c\nrealm.${EVIL_IMG}.authentication.failed:1|c\n` });
  assert.equal(decoded.status, 0, decoded.stderr.toString());
  assert.deepStrictEqual(decoded.stdout.toString().trim().split('\n').map((l) => JSON.parse(l).host), [EVIL, EVIL_IMG]);

  const page = await context.newPage();
  const problems = [];
  const dialogs = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(addr.url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-status="live"][data-alerts="loaded"]', { timeout: 20_000 });

  // Nothing has fired: the empty states and a badge at 0.
  assert.equal(await page.getAttribute('#alerts-badge', 'data-firing'), '0');
  assert.equal(await page.textContent('#alerts-firing tbody'), 'no alert is firing');
  assert.equal(await page.textContent('#alerts-resolved tbody'), 'none resolved recently');
  assert.equal(await alertsOn(page, 'authentication.failed', 'counter'), 0);
  await page.waitForFunction(() => document.querySelector('#alerts-note')?.dataset.rules === '2', null, { timeout: 10_000 });

  // Failures from HOST (sent every second, so the alert keeps firing while the checks run) and
  // one each from the two hosts with markup; gauges (below the warning rule's threshold) too.
  let sending = true;
  const traffic = (async () => {
    for (let i = 0; sending; i++) {
      await send([
        `realm.${HOST}.authentication.failed:3|c`,
        `realm.${HOST}.connection.online:5|g`,
        `realm.${HOST}.realms.open:7|g`,
        ...(i === 0 ? [`realm.${EVIL}.authentication.failed:1|c`, `realm.${EVIL_IMG}.authentication.failed:1|c`] : []),
      ]);
      await sleep(1000);
    }
  })();
  try {
    await page.waitForFunction((host) => document.querySelector(`#alerts-firing tr[data-alert-host="${host}"]`),
      HOST, { timeout: 15_000, polling: 200 });
    const firing = await rows(page, 'alerts-firing');
    const mine = firing.find((r) => r.host === HOST);
    assert.deepStrictEqual([mine.rule, mine.severity, mine.status], ['AuthFailed', 'critical', 'firing']);
    assert.match(mine.cells[0], /^critical$/);
    assert.match(mine.cells[3], new RegExp(`^${HOST}: \\d+ authentication failures in ${WINDOW}s$`));
    assert.match(mine.cells[4], /^\d+ s ago$/, 'since: relative');
    assert.match(mine.titles[4], /fired /, 'since: the absolute time on hover');
    assert.ok(Math.abs(mine.firedAt - Date.now() / 1000) < 30, `fired_at ${mine.firedAt}`);
    // The hosts with markup fired too, their names and summaries as text.
    for (const h of [EVIL, EVIL_IMG]) {
      const r = firing.find((x) => x.host === h) ?? (await rows(page, 'alerts-resolved')).find((x) => x.host === h);
      assert.ok(r, `${h} listed`);
      assert.equal(r.cells[2], h);
      assert.ok(r.cells[3].startsWith(`${h}: 1 authentication failures`), r.cells[3]);
    }
    // The header counts what fires.
    const badge = Number(await page.getAttribute('#alerts-badge', 'data-firing'));
    assert.ok(badge >= 1 && badge <= 3, `badge ${badge}`);
    assert.match(await page.textContent('#alerts-badge'), /^\d firing$/);
    assert.equal(await page.getAttribute('#alerts-badge', 'data-severity'), 'critical');

    // The chart of authentication.failed marks it (render runs every second); no other chart does.
    await page.waitForFunction(() => Number(document.querySelector('[data-metric="authentication.failed"]').dataset.alerts) >= 3,
      null, { timeout: 10_000, polling: 200 });
    const marked = await page.$$eval('[data-metric]', (cs) => cs.filter((c) => Number(c.dataset.alerts) > 0).map((c) => c.dataset.metric));
    assert.deepStrictEqual(marked, ['authentication.failed']);
    assert.equal(await page.$eval('[data-metric="authentication.failed"] .alerts-mark', (m) => !m.hidden && m.dataset.severity), 'critical');
    // With one host selected, only that host's alert is marked.
    await page.selectOption('#host', HOST);
    await page.waitForFunction(() => document.querySelector('[data-metric="authentication.failed"]').dataset.alerts === '1',
      null, { timeout: 10_000, polling: 200 });
    // The marker is drawn: the chart's canvas has the critical colour at fired_at.
    const red = await page.$eval('[data-metric="authentication.failed"] canvas', (cv) => {
      const { data } = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] === 0xc0 && data[i + 1] === 0x39 && data[i + 2] === 0x2b) n++;
      return n;
    });
    assert.ok(red >= 10, `critical-coloured pixels on the chart: ${red}`);
    await page.selectOption('#host', '');
  } finally {
    sending = false;
    await traffic;
  }

  // After the window without new failures every alert resolves, and stays marked on the chart.
  await page.waitForFunction(() => document.querySelector('#alerts-badge').dataset.firing === '0',
    null, { timeout: (WINDOW + 12) * 1000, polling: 250 });
  assert.equal(await page.textContent('#alerts-badge'), 'no alerts');
  assert.equal(await page.textContent('#alerts-firing tbody'), 'no alert is firing');
  const resolved = await rows(page, 'alerts-resolved');
  const mine = resolved.filter((r) => r.host === HOST);
  assert.equal(mine.length, 1, JSON.stringify(resolved));
  assert.deepStrictEqual([mine[0].rule, mine[0].severity, mine[0].status], ['AuthFailed', 'critical', 'resolved']);
  assert.match(mine[0].cells[4], /^\d+ s ago$/, 'fired');
  assert.match(mine[0].cells[5], /^\d+ s ago$/, 'resolved');
  assert.match(mine[0].titles[5], /\(after \d+ (s|min)/, 'resolved: with how long it lasted');
  assert.deepStrictEqual(resolved.map((r) => r.host).sort(), [HOST, EVIL, EVIL_IMG].sort());
  assert.ok(Number(await alertsOn(page, 'authentication.failed', 'counter')) >= 3);
  assert.equal(await alertsOn(page, 'realms.open', 'gauge'), 0);

  // The API agrees with the page.
  const api = await (await fetch(new URL('/api/v1/alerts', addr.url))).json();
  assert.deepStrictEqual(api.firing, []);
  assert.deepStrictEqual(api.recent.map((a) => a.host).sort(), [HOST, EVIL, EVIL_IMG].sort());

  // Markup in host names and summaries created nothing and ran nothing.
  assert.equal(await page.$$eval('b, img', (els) => els.length), 0, 'no element from a host name');
  assert.deepStrictEqual(dialogs, []);
  assert.deepStrictEqual(problems, []);
  await page.close();
});
