// The realm-metrics dashboard page. History comes from the server's store (/api/v1/query, one
// query per catalog chart); live datagrams arrive raw over the WebSocket (one binary message
// each), are decoded here by the wasm build and merged into the current step. Everything shown is
// set with textContent or attributes, never parsed as HTML: host and metric names come from the
// wire and are hostile.
//
// How history and live data meet without counting anything twice: the page keeps a cutoff second
// C. The store answers for the seconds before C (every query has `to=C`, which is exclusive) and
// the WebSocket for C and after. Every REBASE_EVERY ms the page asks the store again with a later
// C (STORE_LAG seconds behind the server's clock, so those seconds are written) and, once every
// answer is in, drops the live seconds the store now covers.
//
// Alerts: the server evaluates the rules; the page reads /api/v1/alerts every ALERTS_EVERY ms,
// lists firing and recently resolved alerts, counts the firing ones in the header, and marks on
// each chart when an alert on its metric fired (a line at fired_at, shading until resolved_at),
// drawn by a uPlot draw hook. Summaries and host names come from the wire: text only.
//
// URL parameters: range (15m 1h 6h 24h 7d 30d), host, stale (seconds without data after which a
// host is marked stopped; default 30).
import init, { decode, catalog } from '/wasm/realm_metrics_wasm.js';
import uPlot from '/uplot/uPlot.esm.js';

const RANGES = [
  { id: '15m', seconds: 15 * 60, step: 1 },
  { id: '1h', seconds: 3600, step: 10 },
  { id: '6h', seconds: 6 * 3600, step: 60 },
  { id: '24h', seconds: 86_400, step: 120 },
  { id: '7d', seconds: 7 * 86_400, step: 600 },
  { id: '30d', seconds: 30 * 86_400, step: 3600 },
];
const VERSIONS_METRIC = 'protocol.<version>.used';
const CHART_HEIGHT = 90;
const MAX_LIVE_HOSTS = 64; // hosts with live data kept
const MAX_HOSTS_LISTED = 1000;
const MAX_CUSTOM = 500;
const MAX_MALFORMED = 50;
const MAX_CUSTOM_ROWS = 200;
const STORE_LAG = 5; // seconds the store may be behind the wire
const REBASE_EVERY = 30_000;
const SERIES_EVERY = 10_000;
const STATUS_EVERY = 5_000;
const ALERTS_EVERY = 2_000;
const MAX_ALERT_ROWS = 200; // firing rows drawn (the server lists up to 1000)
// Severity labels are free text; these get their own colour, anything else is 'info'.
const SEVERITY_COLORS = { critical: '#c0392b', warning: '#d68910', info: '#2f6fd1' };
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

// Display form of a value: integers as they are, fractions to 2 decimals (2 significant digits
// below 1), large values with k/M/G.
function fmt(v) {
  if (typeof v === 'bigint') v = Number(v);
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  if (Number.isInteger(v)) return String(v);
  if (a >= 1) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(2)));
}

// Short axis labels: 1.5M, 200k, 12.5, 0.25.
function axisFmt(v) {
  const a = Math.abs(v);
  const short = (x, unit) => `${Number(x.toFixed(Math.abs(x) < 10 ? 1 : 0))}${unit}`;
  if (a >= 1e9) return short(v / 1e9, 'G');
  if (a >= 1e6) return short(v / 1e6, 'M');
  if (a >= 1e3) return short(v / 1e3, 'k');
  if (a >= 1 || a === 0) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(2)));
}

function duration(s) {
  if (s % 86_400 === 0) return `${s / 86_400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

const params = new URLSearchParams(location.search);
const staleParam = Number(params.get('stale'));
const STALE_AFTER = Number.isInteger(staleParam) && staleParam > 0 ? staleParam : 30;

const state = {
  catalog: [],
  byKey: new Map(), // `${name}|${kind}` -> catalog row
  range: RANGES.find((r) => r.id === params.get('range')) ?? RANGES[0],
  selected: params.get('host') ?? '',
  offset: 0, // server clock - page clock, seconds
  cutoff: 0, // the store answers before this second, the WebSocket from it on
  loadGen: 0,
  charts: new Map(), // catalog id -> { card, plot, row, last, kind, stored: [{ host, points }] }
  versions: [], // stored protocol.<version>.used: [{ host, version, points }]
  live: new Map(), // host -> { counters, gauges, gaugeLast, versions }
  seen: new Map(), // host -> last second with data (store and live)
  hostsChanged: false,
  reconnecting: false,
  custom: new Map(), // `${name}\0${type}` -> { name, type, last, count }
  customOverflow: 0,
  malformed: [], // newest first
  malformedDirty: false,
  alerts: { firing: [], resolved: [], all: [], key: '' }, // from /api/v1/alerts
  alertsBusy: false,
};

const serverNow = () => Math.floor(Date.now() / 1000 + state.offset);
const included = (host) => !state.selected || host === state.selected;

function noteSeen(host, sec) {
  const prev = state.seen.get(host);
  if (prev === undefined) {
    if (state.seen.size >= MAX_HOSTS_LISTED) return;
    state.hostsChanged = true;
  }
  if (prev === undefined || sec > prev) state.seen.set(host, sec);
}

function liveHost(host) {
  let h = state.live.get(host);
  if (!h) {
    if (state.live.size >= MAX_LIVE_HOSTS) return null;
    h = { counters: new Map(), gauges: new Map(), gaugeLast: new Map(), versions: new Map() };
    state.live.set(host, h);
  }
  return h;
}

function bump(map, key, sec, v) {
  let series = map.get(key);
  if (!series) map.set(key, (series = new Map()));
  series.set(sec, (series.get(sec) ?? 0) + v);
}

// The newest stored value of a gauge for a host (the base of a live `+N|g`).
function storedLast(rowId, host) {
  let last;
  for (const s of state.charts.get(rowId)?.stored ?? []) {
    if (s.host === host && s.points.length) last = s.points[s.points.length - 1][1];
  }
  return last;
}

function onDatagram(bytes) {
  const sec = serverNow();
  const { metrics, errors } = decode(bytes);
  for (const m of metrics) {
    const value = typeof m.value === 'bigint' ? Number(m.value) : m.value;
    const kind = m.type === 'c' ? 'counter' : m.type === 'g' ? 'gauge' : null;
    const row = m.metric != null && !m.kindMismatch && kind ? state.byKey.get(`${m.metric}|${kind}`) : null;
    if (row && typeof value === 'number') {
      const host = typeof m.host === 'string' && m.host ? m.host : '-';
      if (host !== '-') noteSeen(host, sec);
      const h = sec >= state.cutoff ? liveHost(host) : null;
      if (!h) continue;
      if (kind === 'counter') {
        const v = value / (m.sampleRate || 1);
        bump(h.counters, row.id, sec, v);
        if (m.version != null) bump(h.versions, String(m.version), sec, v);
      } else {
        let pts = h.gauges.get(row.id);
        if (!pts) h.gauges.set(row.id, (pts = new Map()));
        const base = h.gaugeLast.get(row.id) ?? storedLast(row.id, host) ?? 0;
        const v = m.delta ? base + value : value;
        h.gaugeLast.set(row.id, v);
        pts.delete(sec); // keep insertion order = time order
        pts.set(sec, v);
      }
      continue;
    }
    const name = m.type === 'event' ? m.title : m.name;
    const key = `${name}\0${m.type}`;
    let c = state.custom.get(key);
    if (!c) {
      if (state.custom.size >= MAX_CUSTOM) {
        state.customOverflow++;
        continue;
      }
      state.custom.set(key, (c = { name, type: m.type, last: null, count: 0 }));
    }
    c.last = m.type === 'event' ? m.text : m.type === 'service_check' ? m.status : m.value;
    c.count++;
  }
  if (errors.length) {
    const lines = new TextDecoder().decode(bytes).split('\n');
    const time = new Date().toLocaleTimeString();
    for (const e of errors) {
      state.malformed.unshift({ time, line: e.line, column: e.column, message: e.message, raw: lines[e.line - 1] ?? '' });
    }
    state.malformed.length = Math.min(state.malformed.length, MAX_MALFORMED);
    state.malformedDirty = true;
  }
}

// Drop live seconds before `oldest` (the store has them, or they left the window).
function pruneLive(oldest) {
  for (const h of state.live.values()) {
    for (const map of [h.counters, h.gauges, h.versions]) {
      for (const series of map.values()) for (const s of series.keys()) if (s < oldest) series.delete(s);
    }
  }
}

// ---- the store ----

function apiUrl(path, query) {
  const qs = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return qs ? `${path}?${qs}` : path;
}

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new Error(typeof body?.error === 'string' ? body.error : `HTTP ${r.status}`);
  return body;
}

function parseSeries(answer) {
  const list = Array.isArray(answer?.series) ? answer.series : [];
  return list.map((s) => ({
    host: typeof s.host === 'string' && s.host ? s.host : '-',
    version: Number.isFinite(s.version) ? String(s.version) : null,
    points: (Array.isArray(s.points) ? s.points : [])
      .filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1])),
  }));
}

// Ask the store for the current range and host, up to (not including) second `cutoff`; once
// every answer is in (and no newer load started), swap them in and move the cutoff.
async function loadHistory(cutoff, { announce = false } = {}) {
  const gen = ++state.loadGen;
  const range = state.range;
  const host = state.selected;
  const step = range.step;
  const from = Math.floor((cutoff - range.seconds) / step) * step;
  if (announce) document.body.dataset.history = 'loading';
  const common = { from, to: cutoff, step, host: host || undefined };
  const charts = [...state.charts.values()];
  const jobs = charts.map((c) => getJson(apiUrl('/api/v1/query', { metric: c.row.name, kind: c.row.kind, ...common })));
  jobs.push(getJson(apiUrl('/api/v1/query', { metric: VERSIONS_METRIC, kind: 'counter', ...common })));
  const results = await Promise.allSettled(jobs);
  if (gen !== state.loadGen) return; // a newer load (range, host or rebase) replaces this one
  const failures = [];
  charts.forEach((c, i) => {
    const r = results[i];
    if (r.status === 'fulfilled') {
      c.stored = parseSeries(r.value);
      c.card.removeAttribute('data-error');
    } else {
      c.stored = [];
      c.card.dataset.error = String(r.reason?.message ?? r.reason);
      failures.push(`${c.row.name}: ${c.card.dataset.error}`);
    }
  });
  const v = results[charts.length];
  state.versions = v.status === 'fulfilled' ? parseSeries(v.value).filter((s) => s.version !== null) : [];
  state.cutoff = cutoff;
  pruneLive(cutoff);
  const body = document.body.dataset;
  body.history = failures.length ? 'failed' : 'loaded';
  body.range = range.id;
  body.step = String(step);
  $('history-note').textContent = failures.length ? `history: ${failures.length} queries failed` : '';
  $('history-note').title = failures.join('\n');
  render();
}

function rebase() {
  loadHistory(Math.max(state.cutoff, serverNow() - STORE_LAG));
}

async function loadSeries() {
  try {
    const answer = await getJson('/api/v1/series');
    for (const s of Array.isArray(answer?.series) ? answer.series : []) {
      if (typeof s.host === 'string' && s.host && Number.isFinite(s.last_seen)) noteSeen(s.host, s.last_seen);
    }
  } catch (e) {
    console.warn('series list failed', e);
  }
  refreshHostPicker();
}

async function loadStatus() {
  const out = $('server');
  try {
    const s = await getJson('/api/v1/status');
    const n = (x) => (Number.isFinite(x) ? x : 0);
    let text = `store: ${fmt(n(s.series))} series · ${fmt(n(s.series_dropped))} over the cap · ${fmt(n(s.values))} values`;
    out.dataset.series = String(n(s.series));
    out.dataset.seriesDropped = String(n(s.series_dropped));
    out.dataset.values = String(n(s.values));
    // Alert deliveries that gave up (after their retries), were dropped (queue full) or whose
    // command failed: shown only when there are any.
    const a = s.alerts && typeof s.alerts === 'object' ? s.alerts : {};
    const lost = [
      [n(a.notify_failed), 'failed'],
      [n(a.notify_dropped), 'dropped'],
      [n(a.exec_failed), 'commands failed'],
    ].filter(([v]) => v > 0);
    if (lost.length) text += ` · notifications: ${lost.map(([v, what]) => `${fmt(v)} ${what}`).join(', ')}`;
    out.textContent = text;
    out.dataset.notifyFailed = String(n(a.notify_failed));
    out.dataset.notifyDropped = String(n(a.notify_dropped));
    out.dataset.execFailed = String(n(a.exec_failed));
    out.classList.toggle('bad', n(s.series_dropped) > 0 || n(s.store_errors) > 0 || lost.length > 0);
    const note = $('alerts-note');
    note.textContent = `${fmt(n(a.rules))} rules · ${fmt(n(a.pending))} pending · ${fmt(n(a.notifications_sent))} notifications sent`
      + (n(a.notify_retries) > 0 ? ` · ${fmt(n(a.notify_retries))} retries` : '');
    note.dataset.rules = String(n(a.rules));
    note.dataset.pending = String(n(a.pending));
    return s;
  } catch (e) {
    out.textContent = 'store: unavailable';
    return null;
  }
}

// ---- alerts ----

function parseAlert(a) {
  if (!a || typeof a !== 'object' || !Number.isFinite(a.fired_at)) return null;
  const str = (v) => (typeof v === 'string' ? v : '');
  const num = (v) => (Number.isFinite(v) ? v : null);
  const severity = str(a.severity) || 'warning';
  return {
    rule: str(a.rule),
    host: str(a.host),
    metric: str(a.metric),
    severity,
    sev: Object.hasOwn(SEVERITY_COLORS, severity) ? severity : 'info',
    summary: str(a.summary),
    value: num(a.value),
    started: num(a.started_at) ?? a.fired_at,
    fired: a.fired_at,
    resolved: num(a.resolved_at),
  };
}

const alertKey = (a) => `${a.rule}\0${a.host}\0${a.metric}\0${a.started}\0${a.fired}`;
const absTime = (t) => new Date(t * 1000).toLocaleString();

function ago(t) {
  const d = Math.max(0, serverNow() - t);
  if (d < 60) return `${d} s ago`;
  if (d < 3600) return `${Math.floor(d / 60)} min ago`;
  if (d < 86_400) return `${Math.floor(d / 3600)} h ago`;
  return `${Math.floor(d / 86_400)} d ago`;
}

function lasted(d) {
  d = Math.max(0, d);
  if (d < 60) return `${d} s`;
  if (d < 3600) return `${Math.floor(d / 60)} min ${d % 60} s`;
  return `${Math.floor(d / 3600)} h ${Math.floor((d % 3600) / 60)} min`;
}

// A relative time cell ("2 min ago"), the absolute time on hover; refreshed by refreshAgo().
function timeCell(t, title) {
  const td = el('td', { class: 'ago', 'data-t': t, title: title ?? absTime(t) }, ago(t));
  return td;
}

function refreshAgo() {
  for (const td of $('alerts-panel').querySelectorAll('td.ago')) {
    const text = ago(Number(td.dataset.t));
    if (td.textContent !== text) td.textContent = text;
  }
}

function alertRow(a) {
  const tr = el('tr', {
    class: `alert sev-${a.sev}`,
    'data-alert-rule': a.rule,
    'data-alert-host': a.host,
    'data-alert-metric': a.metric,
    'data-alert-severity': a.severity,
    'data-alert-status': a.resolved === null ? 'firing' : 'resolved',
    'data-fired-at': a.fired,
  });
  if (a.resolved !== null) tr.dataset.resolvedAt = String(a.resolved);
  const sev = el('td', { class: 'severity' });
  sev.append(el('span', { class: 'sev' }, a.severity));
  const summary = el('td', { class: 'summary' }, a.summary);
  summary.title = `${a.metric === '*' ? 'any metric' : a.metric}${a.value === null ? '' : ` · value ${fmt(a.value)}`}`;
  tr.append(sev, el('td', { class: 'rule' }, a.rule), el('td', { class: 'host', title: a.host }, a.host || '–'), summary);
  return tr;
}

function renderAlerts() {
  const { firing, resolved } = state.alerts;
  const body = $('alerts-firing').tBodies[0];
  const rows = firing.slice(0, MAX_ALERT_ROWS).map((a) => {
    const tr = alertRow(a);
    const pendingFor = a.fired - a.started;
    tr.append(timeCell(a.fired, `fired ${absTime(a.fired)}${pendingFor > 0 ? ` (pending from ${absTime(a.started)})` : ''}`));
    return tr;
  });
  if (firing.length > MAX_ALERT_ROWS) {
    const tr = el('tr', { class: 'empty' });
    tr.append(el('td', { colspan: 5 }, `… and ${firing.length - MAX_ALERT_ROWS} more (GET /api/v1/alerts)`));
    rows.push(tr);
  }
  if (!rows.length) {
    const tr = el('tr', { class: 'empty' });
    tr.append(el('td', { colspan: 5 }, 'no alert is firing'));
    rows.push(tr);
  }
  body.replaceChildren(...rows);

  const done = $('alerts-resolved').tBodies[0];
  const past = resolved.map((a) => {
    const tr = alertRow(a);
    tr.append(timeCell(a.fired), timeCell(a.resolved, `${absTime(a.resolved)} (after ${lasted(a.resolved - a.fired)})`));
    return tr;
  });
  if (!past.length) {
    const tr = el('tr', { class: 'empty' });
    tr.append(el('td', { colspan: 6 }, 'none resolved recently'));
    past.push(tr);
  }
  done.replaceChildren(...past);

  const count = String(firing.length);
  const worst = firing.reduce((w, a) => (SEVERITY_RANK[a.sev] < SEVERITY_RANK[w] ? a.sev : w), 'info');
  for (const e of [$('alerts-badge'), $('alerts-panel')]) {
    e.dataset.firing = count;
    if (firing.length) e.dataset.severity = worst; else e.removeAttribute('data-severity');
  }
  $('alerts-badge').textContent = firing.length ? `${firing.length} firing` : 'no alerts';
  $('alerts-badge').title = firing.length
    ? firing.slice(0, 20).map((a) => `${a.severity} ${a.rule} ${a.host}`).join('\n')
    : 'no alert is firing';
}

async function loadAlerts() {
  if (state.alertsBusy) return;
  state.alertsBusy = true;
  try {
    const answer = await getJson('/api/v1/alerts');
    const list = (x) => (Array.isArray(x) ? x.map(parseAlert).filter(Boolean) : []);
    const firing = list(answer?.firing).filter((a) => a.resolved === null);
    const recent = list(answer?.recent);
    firing.sort((a, b) => SEVERITY_RANK[a.sev] - SEVERITY_RANK[b.sev] || b.fired - a.fired);
    // `recent` is the last 100 by fired_at, firing ones included: the union marks the charts.
    const all = new Map();
    for (const a of [...firing, ...recent]) if (!all.has(alertKey(a))) all.set(alertKey(a), a);
    const resolved = recent.filter((a) => a.resolved !== null);
    const key = JSON.stringify([firing, resolved]);
    if (key !== state.alerts.key) {
      state.alerts = { firing, resolved, all: [...all.values()], key };
      renderAlerts();
    } else {
      refreshAgo();
    }
    document.body.dataset.alerts = 'loaded';
    $('alerts-panel').removeAttribute('data-error');
  } catch (e) {
    document.body.dataset.alerts = 'failed';
    state.alerts.key = ''; // the next answer redraws the panel and the badge
    $('alerts-panel').dataset.error = String(e?.message ?? e);
    $('alerts-badge').textContent = 'alerts: unavailable';
    console.warn('alerts failed', e);
  } finally {
    state.alertsBusy = false;
  }
}

// The alerts to mark on a chart in window `w`: on its metric, for the hosts shown. An alert on
// any metric (metric "*", the absent rule: the host sent nothing) marks every chart only while
// its host is selected; with all hosts shown it would mark all 18 charts for one host, so it is
// only in the alerts panel then. Positions snap to the step, as the points do. Only alerts the
// server still lists are known (firing, and the last 100 that fired).
function alertMarks(chart, w) {
  const marks = [];
  const xEnd = w.xs[w.n - 1];
  const snap = (t) => Math.floor(Math.min(t, w.lc) / w.step) * w.step;
  for (const a of state.alerts.all) {
    if (a.metric === '*' ? !state.selected || a.host !== state.selected : a.metric !== chart.row.name || !included(a.host)) continue;
    const from = snap(a.fired);
    const to = a.resolved === null ? xEnd : Math.max(from, snap(a.resolved));
    if (to < w.x0 || from > xEnd) continue;
    marks.push({ from: Math.max(from, w.x0), to, line: from >= w.x0, alert: a });
  }
  // Critical drawn last, on top.
  marks.sort((p, q) => SEVERITY_RANK[q.alert.sev] - SEVERITY_RANK[p.alert.sev]);
  return marks;
}

// uPlot draw hook: shading from fired to resolved (or the right edge while firing) and a line
// with a flag at fired_at, in the severity's colour, clipped to the plotting area.
function drawAlertMarks(u, marks) {
  if (!marks.length) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const px = window.devicePixelRatio || 1;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  for (const m of marks) {
    const color = SEVERITY_COLORS[m.alert.sev];
    const x0 = u.valToPos(m.from, 'x', true);
    const x1 = u.valToPos(m.to, 'x', true);
    ctx.fillStyle = color + (m.alert.resolved === null ? '26' : '18');
    ctx.fillRect(x0, top, Math.max(x1 - x0, 0), height);
    if (!m.line) continue;
    ctx.strokeStyle = color;
    ctx.lineWidth = Math.max(1, Math.round(1.5 * px));
    ctx.beginPath();
    ctx.moveTo(Math.round(x0), top);
    ctx.lineTo(Math.round(x0), top + height);
    ctx.stroke();
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(x0, top);
    ctx.lineTo(x0 + 6 * px, top);
    ctx.lineTo(x0, top + 6 * px);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

// ---- drawing ----

// Points with no neighbour on either side would be invisible as lines: draw them as dots.
function isolatedPoints(u, si) {
  const ys = u.data[si];
  const out = [];
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] != null && (i === 0 || ys[i - 1] == null) && (i === ys.length - 1 || ys[i + 1] == null)) out.push(i);
  }
  return out.length ? out : null;
}

function chartWidth(card) {
  return Math.max(200, card.clientWidth - 18);
}

function kindLabel(row) {
  return row.kind === 'counter' ? 'counter /s' : 'gauge';
}

function kindTitle(row) {
  const step = state.range.step;
  if (row.kind !== 'counter') return `gauge: the last value in each ${duration(step)} step, summed over the hosts shown`;
  return step === 1
    ? 'counter: per-second rate (the count in each second)'
    : `counter: per-second rate (the count in each ${duration(step)} step divided by ${step})`;
}

function buildPanels() {
  const groups = $('groups');
  const byGroup = new Map();
  for (const row of state.catalog) {
    if (!byGroup.has(row.group)) byGroup.set(row.group, []);
    byGroup.get(row.group).push(row);
  }
  for (const [group, rows] of byGroup) {
    const section = el('section', { class: 'group', 'data-group': group });
    section.append(el('h2', {}, group));
    const grid = el('div', { class: 'charts' });
    // A group spans as many columns as it has charts (up to 4); small groups share a row.
    const span = Math.min(rows.length, 4);
    section.style.gridColumn = `span ${span}`;
    grid.style.gridTemplateColumns = `repeat(${span}, minmax(0, 1fr))`;
    section.append(grid);
    groups.append(section);
    for (const row of rows) {
      const card = el('div', {
        class: 'card',
        'data-metric': row.name,
        'data-kind': row.kind,
        'data-points': 0,
        'data-last': 0,
        'data-total': 0,
        title: `${row.name} (${row.kind}): ${row.description}`,
      });
      const head = el('header');
      const kind = el('span', { class: 'kind' }, kindLabel(row));
      const last = el('span', { class: 'last' }, '–');
      head.append(el('h3', {}, row.name), kind, last);
      const box = el('div', { class: 'chart' });
      card.append(head, box);
      grid.append(card);
      const alertsMark = el('span', { class: 'alerts-mark', hidden: '' });
      head.insertBefore(alertsMark, last);
      card.dataset.alerts = '0';
      const chart = { card, plot: null, row, last, kind, alertsMark, stored: [], marks: [] };
      const color = row.kind === 'counter' ? '#6c3ee8' : '#0e9f8e';
      chart.plot = new uPlot({
        width: chartWidth(card),
        height: CHART_HEIGHT,
        legend: { show: false },
        cursor: { points: { show: false } },
        scales: { x: { time: true } },
        axes: [
          { size: 24, font: '10px system-ui' },
          { size: 46, font: '10px system-ui', values: (u, v) => v.map(axisFmt) },
        ],
        series: [{}, {
          label: row.name,
          stroke: color,
          fill: color + '22',
          width: 1.5,
          spanGaps: false,
          points: { show: false, filter: isolatedPoints, size: 5, fill: color, stroke: color },
        }],
        hooks: { draw: [(u) => drawAlertMarks(u, chart.marks)] },
      }, [[], []], box);
      state.charts.set(row.id, chart);
    }
  }
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of state.charts.values()) c.plot.setSize({ width: chartWidth(c.card), height: CHART_HEIGHT });
    }, 150);
  });
}

function refreshHostPicker() {
  const select = $('host');
  if (state.selected && !state.seen.has(state.selected)) noteSeen(state.selected, 0);
  if (state.hostsChanged) {
    state.hostsChanged = false;
    const options = [select.options[0]];
    for (const host of [...state.seen.keys()].sort()) options.push(el('option', { value: host }, host));
    select.replaceChildren(...options);
    select.value = state.selected;
  }
  const now = serverNow();
  for (const o of select.options) {
    if (!o.value) continue;
    const stopped = now - (state.seen.get(o.value) ?? 0) > STALE_AFTER;
    const text = stopped ? `${o.value} (stopped)` : o.value;
    if (o.textContent !== text) o.textContent = text;
    if (o.dataset.stopped !== String(stopped)) {
      o.dataset.stopped = String(stopped);
      o.classList.toggle('stopped', stopped);
    }
  }
  const sel = select.selectedOptions[0];
  select.dataset.stopped = sel?.dataset.stopped ?? 'false';
  $('host-picker').hidden = state.seen.size === 0;
}

function fillTable(tbody, rows, emptyText, columns) {
  tbody.replaceChildren();
  if (!rows.length) {
    const tr = el('tr', { class: 'empty' });
    tr.append(el('td', { colspan: columns }, emptyText));
    tbody.append(tr);
    return;
  }
  for (const cells of rows) {
    const tr = el('tr');
    for (const c of cells) tr.append(el('td', {}, c ?? ''));
    tbody.append(tr);
  }
}

// The buckets on screen: step-aligned starts up to the one holding the last complete second.
function currentWindow() {
  const { seconds, step } = state.range;
  const lc = serverNow() - 1;
  const x0 = Math.floor((lc - seconds + 1) / step) * step;
  const n = (Math.floor(lc / step) * step - x0) / step + 1;
  const xs = Array.from({ length: n }, (_, i) => x0 + i * step);
  // Seconds in each bucket that are over (the last one is partly in the future).
  const span = (i) => (i === n - 1 ? Math.min(step, lc - xs[i] + 1) : step);
  const index = (t) => {
    if (t > lc) return -1;
    const i = Math.floor((t - x0) / step);
    return i >= 0 && i < n ? i : -1;
  };
  return { lc, x0, step, n, xs, span, index };
}

// Counter: the count per bucket (null: no data), summed over the hosts shown.
function counterCounts(chart, w) {
  const ys = new Array(w.n).fill(null);
  const add = (t, v) => {
    const i = w.index(t);
    if (i >= 0) ys[i] = (ys[i] ?? 0) + v;
  };
  for (const s of chart.stored) if (included(s.host)) for (const [t, v] of s.points) add(t, v);
  for (const [host, h] of state.live) {
    if (!included(host)) continue;
    const series = h.counters.get(chart.row.id);
    if (series) for (const [t, v] of series) add(t, v);
  }
  return ys;
}

// Gauge: each host's last value per bucket (live after stored), summed over the hosts shown.
function gaugeValues(chart, w) {
  const perHost = new Map();
  const of = (host) => {
    let a = perHost.get(host);
    if (!a) perHost.set(host, (a = new Array(w.n).fill(null)));
    return a;
  };
  for (const s of chart.stored) {
    if (!included(s.host)) continue;
    const a = of(s.host);
    for (const [t, v] of s.points) {
      const i = w.index(t);
      if (i >= 0) a[i] = (a[i] ?? 0) + v;
    }
  }
  for (const [host, h] of state.live) {
    if (!included(host)) continue;
    const series = h.gauges.get(chart.row.id);
    if (!series || !series.size) continue;
    const a = of(host);
    for (const [t, v] of series) {
      const i = w.index(t);
      if (i >= 0) a[i] = v;
    }
  }
  const ys = new Array(w.n).fill(null);
  for (const a of perHost.values()) a.forEach((v, i) => { if (v !== null) ys[i] = (ys[i] ?? 0) + v; });
  return ys;
}

function renderVersions(w) {
  const versions = new Map(); // version -> { total, recent }
  const add = (ver, t, v) => {
    const i = w.index(t);
    if (i < 0) return;
    const e = versions.get(ver) ?? { total: 0, recent: 0 };
    e.total += v;
    if (i === w.n - 1) e.recent += v;
    versions.set(ver, e);
  };
  for (const s of state.versions) if (included(s.host)) for (const [t, v] of s.points) add(s.version, t, v);
  for (const [host, h] of state.live) {
    if (!included(host)) continue;
    for (const [ver, series] of h.versions) for (const [t, v] of series) add(ver, t, v);
  }
  const span = w.span(w.n - 1);
  fillTable(
    $('protocol-versions').tBodies[0],
    [...versions].sort((a, b) => Number(b[0]) - Number(a[0])).map(([ver, e]) => [ver, fmt(e.recent / span), fmt(e.total)]),
    'no protocol.<version>.used in this range', 3,
  );
}

// The alerts marked on a chart: kept for the draw hook (setData redraws), counted on the card
// (data-alerts: lines at fired_at in the range) and listed on hover over the header's mark.
function showMarks(chart, w) {
  chart.marks = alertMarks(chart, w);
  const lines = chart.marks.filter((m) => m.line).sort((p, q) => q.alert.fired - p.alert.fired);
  const shown = lines.map((m) => `${alertKey(m.alert)}\0${m.alert.resolved}`).join('\n');
  if (chart.marksShown === shown) return;
  chart.marksShown = shown;
  chart.card.dataset.alerts = String(lines.length);
  const mark = chart.alertsMark;
  mark.hidden = lines.length === 0;
  if (!lines.length) return;
  const worst = lines.reduce((s, m) => (SEVERITY_RANK[m.alert.sev] < SEVERITY_RANK[s] ? m.alert.sev : s), 'info');
  mark.dataset.severity = worst;
  mark.textContent = `▲ ${lines.length}`;
  mark.title = lines.slice(0, 10).map(({ alert: a }) => `${a.severity} ${a.rule} ${a.host}: fired ${absTime(a.fired)}`
    + (a.resolved === null ? ', firing' : `, resolved ${absTime(a.resolved)}`)).join('\n');
}

function render() {
  const w = currentWindow();
  pruneLive(w.x0);
  for (const chart of state.charts.values()) {
    const { card, plot, row, last: lastEl } = chart;
    let ys;
    let total = 0;
    if (row.kind === 'counter') {
      ys = counterCounts(chart, w);
      ys = ys.map((c, i) => {
        if (c === null) return null;
        total += c;
        return c / w.span(i);
      });
    } else {
      ys = gaugeValues(chart, w);
    }
    showMarks(chart, w);
    plot.setData([w.xs, ys]);
    let points = 0;
    let lastIndex = -1;
    ys.forEach((y, i) => { if (y !== null) { points++; lastIndex = i; } });
    const lastValue = lastIndex >= 0 ? ys[lastIndex] : null;
    card.dataset.points = String(points);
    card.dataset.last = String(lastValue ?? 0);
    card.dataset.total = String(row.kind === 'counter' ? total : lastValue ?? 0);
    lastEl.textContent = fmt(lastValue);
    lastEl.title = lastIndex >= 0 ? `at ${new Date(w.xs[lastIndex] * 1000).toLocaleString()}` : 'no data in this range';
  }
  renderVersions(w);
  refreshHostPicker();

  const custom = [...state.custom.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  fillTable(
    $('custom-metrics').tBodies[0],
    custom.slice(0, MAX_CUSTOM_ROWS).map((c) => [c.name, c.type, fmt(c.last), String(c.count)]),
    'none yet', 4,
  );

  if (state.malformedDirty) {
    state.malformedDirty = false;
    fillTable(
      $('malformed').tBodies[0],
      state.malformed.map((m) => [m.time, String(m.line), String(m.column), m.message, m.raw]),
      'none', 5,
    );
  }
}

// ---- controls ----

function setUrlParam(key, value) {
  const url = new URL(location.href);
  if (value) url.searchParams.set(key, value); else url.searchParams.delete(key);
  history.replaceState(null, '', url);
}

function showRange() {
  for (const b of $('range').querySelectorAll('button')) {
    b.setAttribute('aria-pressed', String(b.dataset.range === state.range.id));
  }
  $('step').textContent = `${duration(state.range.step)} steps`;
  for (const c of state.charts.values()) c.kind.title = kindTitle(c.row);
}

function setRange(id) {
  const range = RANGES.find((r) => r.id === id);
  if (!range || range === state.range) return;
  state.range = range;
  for (const c of state.charts.values()) c.stored = [];
  state.versions = [];
  setUrlParam('range', range.id === RANGES[0].id ? '' : range.id);
  showRange();
  render();
  loadHistory(Math.max(state.cutoff, serverNow() - STORE_LAG), { announce: true });
}

function setHost(host) {
  if (host === state.selected) return;
  state.selected = host;
  setUrlParam('host', host);
  render();
  loadHistory(Math.max(state.cutoff, serverNow() - STORE_LAG), { announce: true });
}

function setStatus(status, text) {
  document.body.dataset.status = status;
  $('status').textContent = text;
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  let opened = false;
  ws.onopen = () => {
    opened = true;
    setStatus('live', 'live');
    if (state.reconnecting) {
      // What arrived while disconnected is in the store: live data starts again from now.
      state.reconnecting = false;
      state.live.clear();
      state.cutoff = serverNow();
      loadHistory(state.cutoff);
    }
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') {
      try {
        const s = JSON.parse(ev.data);
        $('stats').textContent = `received ${Number(s.received)} · dropped ${Number(s.dropped)}`;
        $('stats').dataset.received = String(Number(s.received));
        $('stats').dataset.dropped = String(Number(s.dropped));
      } catch { /* not ours */ }
      return;
    }
    try {
      onDatagram(new Uint8Array(ev.data));
    } catch (e) {
      console.warn('decode failed', e);
    }
  };
  ws.onclose = () => {
    if (opened) state.reconnecting = true;
    setStatus('closed', 'disconnected: retrying…');
    setTimeout(connect, 2000);
  };
}

async function main() {
  try {
    await init();
    state.catalog = catalog();
    for (const row of state.catalog) state.byKey.set(`${row.name}|${row.kind}`, row);
    buildPanels();
    showRange();
    for (const b of $('range').querySelectorAll('button')) b.addEventListener('click', () => setRange(b.dataset.range));
    $('host').addEventListener('change', (e) => setHost(e.target.value));
    const status = await loadStatus();
    if (Number.isFinite(status?.now)) {
      const offset = status.now - Date.now() / 1000;
      // Same machine: the difference is the rounding of `now`; otherwise follow the server.
      state.offset = Math.abs(offset) < 2 ? 0 : Math.round(offset);
    }
    state.cutoff = serverNow();
    setStatus('connecting', 'connecting…');
    connect();
    refreshHostPicker();
    render();
    setInterval(render, 1000);
    setInterval(rebase, REBASE_EVERY);
    setInterval(loadSeries, SERIES_EVERY);
    setInterval(loadStatus, STATUS_EVERY);
    setInterval(loadAlerts, ALERTS_EVERY);
    loadAlerts();
    loadSeries();
    loadHistory(state.cutoff, { announce: true });
  } catch (e) {
    setStatus('failed', `failed to start: ${e}`);
    throw e;
  }
}

main();
