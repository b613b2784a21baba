// The realm-metrics dashboard page. Datagrams arrive raw over the WebSocket (one binary message
// each) and are decoded here by the wasm build; everything shown is set with textContent or
// attributes, never parsed as HTML.
import init, { decode, catalog } from '/wasm/realm_metrics_wasm.js';
import uPlot from '/uplot/uPlot.esm.js';

const WINDOW = 60; // seconds on each chart, at 1 s resolution
const KEEP = WINDOW + 10; // seconds of data kept
const CHART_HEIGHT = 90;
const MAX_HOSTS = 64;
const MAX_CUSTOM = 500;
const MAX_MALFORMED = 50;
const MAX_CUSTOM_ROWS = 200;

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

// Short axis labels: 1.5M, 200k, 12.5.
function axisFmt(v) {
  const a = Math.abs(v);
  const short = (x, unit) => `${Number(x.toFixed(x < 10 ? 1 : 0))}${unit}`;
  if (a >= 1e9) return short(v / 1e9, 'G');
  if (a >= 1e6) return short(v / 1e6, 'M');
  if (a >= 1e3) return short(v / 1e3, 'k');
  return String(Number(v.toFixed(2)));
}

const state = {
  catalog: [],
  byKey: new Map(), // `${name}|${kind}` -> catalog row
  hosts: new Map(), // host -> { counters, gauges, versions, versionTotals }
  selected: '',
  custom: new Map(), // `${name}\0${type}` -> { name, type, last, count }
  customOverflow: 0,
  malformed: [], // newest first
  malformedDirty: false,
  charts: new Map(), // catalog id -> { card, plot, row }
};

const nowSec = () => Math.floor(Date.now() / 1000);

function hostState(host) {
  let h = state.hosts.get(host);
  if (!h) {
    if (state.hosts.size >= MAX_HOSTS) return null;
    h = { counters: new Map(), gauges: new Map(), versions: new Map(), versionTotals: new Map() };
    state.hosts.set(host, h);
    refreshHostPicker();
  }
  return h;
}

function bump(map, key, sec, v) {
  let series = map.get(key);
  if (!series) map.set(key, (series = new Map()));
  series.set(sec, (series.get(sec) ?? 0) + v);
}

function onDatagram(bytes) {
  const sec = nowSec();
  const { metrics, errors } = decode(bytes);
  for (const m of metrics) {
    const value = typeof m.value === 'bigint' ? Number(m.value) : m.value;
    const kind = m.type === 'c' ? 'counter' : m.type === 'g' ? 'gauge' : null;
    const row = m.metric != null && !m.kindMismatch && kind ? state.byKey.get(`${m.metric}|${kind}`) : null;
    const h = row ? hostState(m.host ?? '-') : null;
    if (row && h && typeof value === 'number') {
      if (kind === 'counter') {
        const v = value / (m.sampleRate || 1);
        bump(h.counters, row.id, sec, v);
        if (m.version != null) {
          const ver = String(m.version);
          bump(h.versions, ver, sec, v);
          h.versionTotals.set(ver, (h.versionTotals.get(ver) ?? 0) + v);
        }
      } else {
        let g = h.gauges.get(row.id);
        if (!g) h.gauges.set(row.id, (g = { points: new Map(), last: 0 }));
        g.last = m.delta ? g.last + value : value;
        g.points.delete(sec); // keep insertion order = time order
        g.points.set(sec, g.last);
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

function selectedHosts() {
  if (state.selected && state.hosts.has(state.selected)) return [state.hosts.get(state.selected)];
  return [...state.hosts.values()];
}

function prune(oldest) {
  for (const h of state.hosts.values()) {
    for (const map of [h.counters, h.versions]) {
      for (const series of map.values()) for (const s of series.keys()) if (s < oldest) series.delete(s);
    }
    for (const g of h.gauges.values()) {
      for (const s of g.points.keys()) {
        if (s >= oldest) break;
        // Keep the newest point before the window: it is the gauge's value at its start.
        const it = g.points.keys();
        it.next();
        const second = it.next();
        if (!second.done && second.value <= oldest) g.points.delete(s);
        else break;
      }
    }
  }
}

function seriesFor(row, xs, hosts) {
  const ys = new Array(xs.length).fill(row.kind === 'counter' ? 0 : null);
  for (const h of hosts) {
    if (row.kind === 'counter') {
      const series = h.counters.get(row.id);
      if (!series) continue;
      xs.forEach((x, i) => { ys[i] += series.get(x) ?? 0; });
    } else {
      const g = h.gauges.get(row.id);
      if (!g) continue;
      const pts = [...g.points.entries()]; // time order
      let j = 0;
      let cur = null;
      xs.forEach((x, i) => {
        while (j < pts.length && pts[j][0] <= x) cur = pts[j++][1];
        if (cur !== null) ys[i] = (ys[i] ?? 0) + cur;
      });
    }
  }
  return ys;
}

function chartWidth(card) {
  return Math.max(200, card.clientWidth - 18);
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
        title: `${row.name} (${row.kind}): ${row.description}`,
      });
      const head = el('header');
      head.append(el('h3', {}, row.name), el('span', { class: 'kind' }, row.kind === 'counter' ? 'counter /s' : 'gauge'));
      const last = el('span', { class: 'last' }, '–');
      head.append(last);
      const box = el('div', { class: 'chart' });
      card.append(head, box);
      grid.append(card);
      const color = row.kind === 'counter' ? '#6c3ee8' : '#0e9f8e';
      const plot = new uPlot({
        width: chartWidth(card),
        height: CHART_HEIGHT,
        legend: { show: false },
        cursor: { points: { show: false } },
        scales: { x: { time: true } },
        axes: [{ size: 24, font: '10px system-ui' }, { size: 46, font: '10px system-ui', values: (u, v) => v.map(axisFmt) }],
        series: [{}, { label: row.name, stroke: color, fill: color + '22', width: 1.5, points: { show: false }, spanGaps: false }],
      }, [[], []], box);
      state.charts.set(row.id, { card, plot, row, last });
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
  const have = new Set([...select.options].map((o) => o.value));
  for (const host of [...state.hosts.keys()].sort()) {
    if (!have.has(host)) select.append(el('option', { value: host }, host));
  }
  $('host-picker').hidden = state.hosts.size < 2;
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

function render() {
  const last = nowSec() - 1; // the last complete second
  const xs = Array.from({ length: WINDOW }, (_, i) => last - WINDOW + 1 + i);
  prune(last - KEEP);
  const hosts = selectedHosts();
  for (const { card, plot, row, last: lastEl } of state.charts.values()) {
    const ys = seriesFor(row, xs, hosts);
    plot.setData([xs, ys]);
    let points = 0;
    let lastNonZero = 0;
    for (const y of ys) if (y) { points++; lastNonZero = y; }
    card.dataset.points = String(points);
    card.dataset.last = String(lastNonZero);
    lastEl.textContent = fmt(ys[ys.length - 1]);
  }

  const versions = new Map();
  for (const h of hosts) {
    for (const [ver, total] of h.versionTotals) {
      const v = versions.get(ver) ?? { rate: 0, total: 0 };
      v.total += total;
      v.rate += h.versions.get(ver)?.get(last) ?? 0;
      versions.set(ver, v);
    }
  }
  fillTable(
    $('protocol-versions').tBodies[0],
    [...versions].sort((a, b) => Number(b[0]) - Number(a[0])).map(([ver, v]) => [ver, fmt(v.rate), fmt(v.total)]),
    'no protocol.<version>.used yet', 3,
  );

  const custom = [...state.custom.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  fillTable(
    $('custom-metrics').tBodies[0],
    custom.slice(0, MAX_CUSTOM_ROWS).map((c) => [c.name, c.type, String(c.last), String(c.count)]),
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

function setStatus(status, text) {
  document.body.dataset.status = status;
  $('status').textContent = text;
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => setStatus('live', 'live');
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
    $('host').addEventListener('change', (e) => { state.selected = e.target.value; render(); });
    render();
    setInterval(render, 1000);
    setStatus('connecting', 'connecting…');
    connect();
  } catch (e) {
    setStatus('failed', `failed to start: ${e}`);
    throw e;
  }
}

main();
