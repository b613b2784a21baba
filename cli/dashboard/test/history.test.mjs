// The dashboard keeps history: a page opened after the traffic stopped shows it from the store
// (also after a restart on the same data directory), the range picker re-queries with the range's
// step, the host selector lists every host ever seen, narrows to one and marks hosts that stopped,
// and host names with markup are text.
//
// Run: bash cli/dashboard/test.sh   (builds what it needs first)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium, startDashboard, udpSender } from './helpers.mjs';

const EVIL = '<img src=x onerror=alert(1)>';
const QUOTED = 'q"u\'o<b>te';
const ROUNDS = 3; // datagrams per host, one a second
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let data;
let dash;
let addr;
let context;
let profile;
const udp = udpSender(() => addr);
const send = (lines) => udp.send(lines);

const hostA = ['realm.hist-a.connection.online:5|g', 'realm.hist-a.connection.started:3|c', 'realm.hist-a.protocol.24.used:1|c'];
const hostB = ['realm.hist-b.connection.online:7|g', 'realm.hist-b.connection.started:4|c', 'realm.hist-b.protocol.23.used:2|c'];
const hostile = [`realm.${EVIL}.realms.open:1|g`, `realm.${QUOTED}.realms.open:2|g`];

async function openPage(query = '') {
  const page = await context.newPage();
  const problems = [];
  const dialogs = [];
  const queries = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('request', (r) => { if (r.url().includes('/api/v1/query')) queries.push(new URL(r.url())); });
  await page.goto(addr.url + query, { waitUntil: 'load' });
  await page.waitForSelector('body[data-history="loaded"], body[data-history="failed"], body[data-status="failed"]', { timeout: 20_000 });
  assert.equal(await page.getAttribute('body', 'data-history'), 'loaded', await page.textContent('#status'));
  return { page, problems, dialogs, queries };
}

const card = (page, metric, kind) => `[data-metric="${metric}"][data-kind="${kind}"]`;
async function cardData(page, metric, kind) {
  return page.$eval(card(page, metric, kind), (c) => ({
    points: Number(c.dataset.points), last: Number(c.dataset.last), total: Number(c.dataset.total),
    shown: c.querySelector('.last').textContent,
  }));
}

// The page settles once a render ran after the history was swapped in.
async function waitFor(page, metric, kind, want) {
  await page.waitForFunction(([sel, want]) => {
    const c = document.querySelector(sel);
    return c && Object.entries(want).every(([k, v]) => Number(c.dataset[k]) === v);
  }, [card(page, metric, kind), want], { timeout: 10_000, polling: 200 }).catch(() => {});
  return cardData(page, metric, kind);
}

async function versionRows(page) {
  return page.$$eval('#protocol-versions tbody tr:not(.empty)', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
}

async function checkHistory(page) {
  const online = await waitFor(page, 'connection.online', 'gauge', { last: 12 });
  assert.equal(online.last, 12, 'connection.online: 5 + 7 over both hosts');
  assert.ok(online.points >= ROUNDS - 1 && online.points <= ROUNDS, `connection.online points ${online.points}`);
  assert.equal(online.shown, '12');
  const started = await waitFor(page, 'connection.started', 'counter', { total: 7 * ROUNDS });
  assert.equal(started.total, 7 * ROUNDS, 'connection.started: every count, from the store');
  assert.ok(started.points >= ROUNDS - 1, `connection.started points ${started.points}`);
  // No traffic, no points: a step without data is a gap, not a zero.
  assert.equal((await cardData(page, 'session.started', 'counter')).points, 0);
  const versions = await versionRows(page);
  assert.deepStrictEqual(versions.map((r) => [r[0], r[2]]), [['24', String(ROUNDS)], ['23', String(2 * ROUNDS)]]);
}

before(async () => {
  data = mkdtempSync(path.join(tmpdir(), 'realm-metrics-history-'));
  dash = startDashboard([], { data });
  addr = await dash.ready;
  profile = mkdtempSync(path.join(tmpdir(), 'realm-metrics-history-chromium-'));
  context = await launchChromium(profile);
  // Known traffic for a few seconds, then silence: no page is open while it arrives.
  for (let i = 0; i < ROUNDS; i++) {
    if (i) await sleep(1050);
    await send([...hostA, ...hostB, ...hostile]);
  }
  await sleep(2000); // the store writes once a second
});

after(async () => {
  udp.close();
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (dash) {
    const { code, signal } = await dash.stop();
    assert.equal(code, 0, `dashboard exit on SIGINT: code ${code} signal ${signal}\n${dash.stderr}`);
  }
  if (data) rmSync(data, { recursive: true, force: true });
});

test('a page opened after the traffic stopped shows it from the store, also after a restart', async () => {
  let { page, problems, dialogs, queries } = await openPage();
  await checkHistory(page);
  // One query per catalog chart, by catalog name and kind, plus the protocol versions.
  const asked = queries.map((u) => `${u.searchParams.get('metric')}|${u.searchParams.get('kind')}`);
  for (const k of ['connection.online|gauge', 'connection.started|counter', 'protocol.bytes.sent|counter',
    'protocol.bytes.sent|gauge', 'protocol.<version>.used|counter']) assert.ok(asked.includes(k), `${k} in ${asked.join(' ')}`);
  assert.ok(queries.every((u) => u.searchParams.get('step') === '1'), 'the 15 m range asks for 1 s steps');
  assert.deepStrictEqual(problems, []);
  assert.deepStrictEqual(dialogs, []);
  await page.close();

  const { code } = await dash.stop();
  assert.equal(code, 0, dash.stderr);
  dash = startDashboard([], { data });
  addr = await dash.ready;
  ({ page, problems, dialogs } = await openPage());
  await checkHistory(page);
  assert.deepStrictEqual(problems, []);
  assert.deepStrictEqual(dialogs, []);
  await page.close();
});

test('the range picker re-queries with the range\'s step and keeps showing the data', async () => {
  const { page, problems, queries } = await openPage();
  for (const [range, step] of [['1h', '10'], ['24h', '120'], ['7d', '600'], ['30d', '3600'], ['15m', '1']]) {
    queries.length = 0;
    await page.click(`#range button[data-range="${range}"]`);
    await page.waitForSelector(`body[data-range="${range}"][data-history="loaded"]`, { timeout: 10_000 });
    assert.equal(await page.getAttribute(`#range button[data-range="${range}"]`, 'aria-pressed'), 'true');
    assert.ok(queries.length >= 19, `${range}: ${queries.length} queries`);
    for (const u of queries) {
      assert.equal(u.searchParams.get('step'), step, `${range}: ${u}`);
      const span = Number(u.searchParams.get('to')) - Number(u.searchParams.get('from'));
      assert.ok(span >= { '1h': 3600, '24h': 86_400, '7d': 604_800, '30d': 2_592_000, '15m': 900 }[range], `${range}: ${u}`);
    }
    const started = await waitFor(page, 'connection.started', 'counter', { total: 7 * ROUNDS });
    assert.equal(started.total, 7 * ROUNDS, `${range}: connection.started total`);
    assert.ok(started.points >= 1);
    // Counters are per-second rates: the count in the step divided by its length.
    if (step !== '1') assert.ok(started.last < 7 * ROUNDS, `${range}: a rate (${started.last})`);
    const online = await waitFor(page, 'connection.online', 'gauge', { last: 12 });
    assert.equal(online.last, 12, `${range}: connection.online`);
    assert.match(await page.textContent('#step'), range === '15m' ? /1 s steps/ : /steps/);
  }
  // The range is in the address: a reload keeps it.
  await page.click('#range button[data-range="6h"]');
  await page.waitForSelector('body[data-range="6h"][data-history="loaded"]');
  assert.match(page.url(), /range=6h/);
  assert.deepStrictEqual(problems, []);
  await page.close();
});

test('the host selector lists every host, narrows to one, marks stopped hosts; names are text', async () => {
  // hist-a keeps sending (live), hist-b stopped long ago (with stale=4 s, the page calls it stopped).
  let sending = true;
  const live = (async () => {
    while (sending) {
      await send(['realm.hist-a.connection.online:5|g']);
      await sleep(500);
    }
  })();
  try {
    const { page, problems, dialogs, queries } = await openPage('?stale=4');
    await page.waitForSelector('#host-picker:not([hidden])');
    const options = () => page.$$eval('#host option', (os) => os.map((o) => ({ value: o.value, text: o.textContent, stopped: o.dataset.stopped })));
    let hosts = await options();
    const values = hosts.map((o) => o.value);
    for (const h of ['', 'hist-a', 'hist-b', EVIL, QUOTED]) assert.ok(values.includes(h), `${JSON.stringify(h)} in ${JSON.stringify(values)}`);
    // hist-a is marked live as soon as its datagrams reach the page.
    await page.waitForFunction(() => {
      const stopped = (h) => document.querySelector(`#host option[value="${h}"]`)?.dataset.stopped;
      return stopped('hist-b') === 'true' && stopped('hist-a') === 'false';
    }, null, { timeout: 10_000 }).catch(() => {});
    hosts = await options();
    const byValue = Object.fromEntries(hosts.map((o) => [o.value, o]));
    assert.deepStrictEqual([byValue['hist-b'].text, byValue['hist-b'].stopped], ['hist-b (stopped)', 'true']);
    assert.deepStrictEqual([byValue['hist-a'].text, byValue['hist-a'].stopped], ['hist-a', 'false']);
    // Markup in host names is the option's text, and creates nothing.
    assert.equal(byValue[EVIL].text, `${EVIL} (stopped)`);
    assert.equal(byValue[QUOTED].text, `${QUOTED} (stopped)`);
    assert.equal(await page.$$eval('img, b', (els) => els.length), 0, 'no element from a host name');

    queries.length = 0;
    await page.selectOption('#host', 'hist-b');
    await page.waitForSelector('body[data-history="loaded"]');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('host') === 'hist-b');
    assert.ok(queries.length >= 19 && queries.every((u) => u.searchParams.get('host') === 'hist-b'), queries.join('\n'));
    assert.equal((await waitFor(page, 'connection.started', 'counter', { total: 4 * ROUNDS })).total, 4 * ROUNDS);
    assert.equal((await waitFor(page, 'connection.online', 'gauge', { last: 7 })).last, 7);
    assert.equal(await page.getAttribute('#host', 'data-stopped'), 'true');
    assert.deepStrictEqual((await versionRows(page)).map((r) => [r[0], r[2]]), [['23', String(2 * ROUNDS)]]);

    await page.selectOption('#host', 'hist-a');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('host') === 'hist-a');
    await page.waitForSelector('body[data-history="loaded"]');
    assert.equal((await waitFor(page, 'connection.started', 'counter', { total: 3 * ROUNDS })).total, 3 * ROUNDS);
    assert.equal((await waitFor(page, 'connection.online', 'gauge', { last: 5 })).last, 5);
    assert.equal(await page.getAttribute('#host', 'data-stopped'), 'false');
    assert.deepStrictEqual((await versionRows(page)).map((r) => [r[0], r[2]]), [['24', String(ROUNDS)]]);

    // A host with markup in its name can be picked: its value is queried URL-encoded.
    queries.length = 0;
    await page.selectOption('#host', EVIL);
    await page.waitForSelector('body[data-history="loaded"]');
    await page.waitForFunction(() => Number(document.querySelector('[data-metric="realms.open"]')?.dataset.last) === 1, null, { timeout: 10_000 });
    assert.ok(queries.length && queries.every((u) => u.searchParams.get('host') === EVIL));
    assert.equal(await page.$$eval('img, b', (els) => els.length), 0);

    // The server's own counters (refreshed every 5 s; values counts since the restart).
    await page.waitForFunction(() => ['series', 'values'].every((k) => Number(document.querySelector('#server')?.dataset[k]) > 0), null, { timeout: 10_000 });
    const server = await page.$eval('#server', (e) => ({ ...e.dataset, text: e.textContent }));
    assert.equal(server.seriesDropped, '0');
    assert.ok(Number(server.values) > 0, JSON.stringify(server));
    assert.match(server.text, /series/);
    assert.deepStrictEqual(problems, []);
    assert.deepStrictEqual(dialogs, []);
    await page.close();
  } finally {
    sending = false;
    await live;
  }
});

test('live data joins the stored steps, gaps stay gaps', async () => {
  const { page, problems } = await openPage();
  const before = await cardData(page, 'connection.started', 'counter');
  // Two live datagrams two seconds apart: two more points, with a gap between, and the total grows.
  await send(['realm.hist-c.connection.started:10|c']);
  await sleep(2100);
  await send(['realm.hist-c.connection.started:10|c']);
  const after = await waitFor(page, 'connection.started', 'counter', { total: before.total + 20 });
  assert.equal(after.total, before.total + 20);
  assert.equal(after.points, before.points + 2);
  assert.equal(after.last, 10);
  // hist-c appeared live: it is listed at once.
  await page.waitForSelector('#host option[value="hist-c"]', { state: 'attached', timeout: 5000 });
  // Steps without data are gaps, not zeros: a few points out of 900 one-second steps.
  assert.ok(after.points < 30, `points ${after.points}`);
  assert.deepStrictEqual(problems, []);
  await page.close();
});
