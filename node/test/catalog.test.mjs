// The typed catalog: catalog(), Metric, and RealmMetrics over UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { pkg, receiver } from './helpers.mjs';

const { RealmMetrics, Metric, catalog, methodName } = pkg;

/** `connection.started` -> `ConnectionStarted`; gauge twins of a counter name get `Gauge`. */
function ident(row) {
  const base = row.name.replace('<version>', 'version').split('.').map((s) => s[0].toUpperCase() + s.slice(1)).join('');
  const twin = catalog.some((o) => o.name === row.name && o.kind !== row.kind);
  return twin && row.kind === 'gauge' ? base + 'Gauge' : base;
}

test('catalog: 18 rows {id, name, kind, group, description}, ids 0..17 in order', () => {
  assert.equal(catalog.length, 18);
  catalog.forEach((row, i) => {
    assert.deepEqual(Object.keys(row).sort(), ['description', 'group', 'id', 'kind', 'name']);
    assert.equal(row.id, i);
    assert.ok(row.name.startsWith(row.group + '.'));
    assert.ok(row.kind === 'counter' || row.kind === 'gauge');
    assert.ok(row.description.length > 10);
  });
  assert.equal(catalog[5].name, 'connection.started');
  assert.equal(catalog[16].name, 'protocol.bytes.received');
  assert.equal(catalog[16].kind, 'gauge');
});

test('Metric: one id per catalog row, named from it', () => {
  assert.equal(Metric.ConnectionStarted, 5);
  assert.equal(Metric.ProtocolBytesReceivedGauge, 16);
  const keys = Object.keys(Metric).filter((k) => typeof Metric[k] === 'number');
  assert.equal(keys.length, 18);
  for (const row of catalog) assert.equal(Metric[ident(row)], row.id, row.name);
});

test('RealmMetrics: one method per catalog row, declared in the types', () => {
  const dts = readFileSync(new URL('../lib/index.d.ts', import.meta.url), 'utf8');
  for (const row of catalog) {
    const m = methodName(ident(row));
    assert.equal(typeof RealmMetrics.prototype[m], 'function', m);
    assert.match(dts, new RegExp(`\\n  ${m}\\(`), `${m} in lib/index.d.ts`);
  }
  assert.equal(methodName('ProtocolVersionUsed'), 'protocolUsed');
});

test('RealmMetrics over UDP: default prefix realm.<hostname>, counters, gauges, versions', async () => {
  const r = await receiver();
  const m = new RealmMetrics({ host: '127.0.0.1', port: r.port, flushInterval: 0 });
  const host = os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_');
  assert.equal(m.prefix, `realm.${host}`);
  m.connectionStarted();
  m.connectionStarted(2);
  m.count(Metric.ConnectionStarted);
  m.connectionOnline(5);
  m.gaugeDelta(Metric.ConnectionOnline, -2);
  m.protocolUsed(7);
  m.protocolUsed(7);
  m.protocolBytesReceived(1500);
  m.protocolBytesReceivedGauge(90000);
  m.realmsOpen(-1);
  await m.flush();
  await r.until(() => r.lines.length >= 7);
  const p = `realm.${host}.`;
  assert.deepEqual(r.lines.slice().sort(), [
    `${p}connection.online:3|g`,
    `${p}connection.started:4|c`,
    `${p}protocol.7.used:2|c`,
    `${p}protocol.bytes.received:1500|c`,
    `${p}protocol.bytes.received:90000|g`,
    `${p}realms.open:-1|g`,
    `${p}realms.open:0|g`,
  ].sort());
  // The decoder recognises what the emitter sent.
  const { metrics, errors } = pkg.decode(r.lines.join('\n'));
  assert.equal(errors.length, 0);
  assert.ok(metrics.every((v) => v.metric !== null && v.host === host));
  // Gauges are re-sent on every flush; unchanged counters are not.
  r.lines.length = 0;
  await m.close();
  await r.until(() => r.lines.length >= 4);
  assert.ok(r.lines.every((l) => l.endsWith('|g')));
  assert.equal(m.stats().sendErrors, 0);
  await r.close();
});

test('RealmMetrics: bad arguments throw with a code', () => {
  const m = new RealmMetrics({ host: '127.0.0.1', port: 9, prefix: 'app', flushInterval: 0 });
  const cases = [
    [() => m.count(99), RangeError, 'ERR_REALM_METRICS_UNKNOWN_METRIC'],
    [() => m.count(-1), RangeError, 'ERR_REALM_METRICS_UNKNOWN_METRIC'],
    [() => m.count('5'), RangeError, 'ERR_REALM_METRICS_UNKNOWN_METRIC'],
    [() => m.count(Metric.ConnectionOnline), TypeError, 'ERR_REALM_METRICS_WRONG_KIND'],
    [() => m.count(Metric.ProtocolVersionUsed), TypeError, 'ERR_REALM_METRICS_TEMPLATED_METRIC'],
    [() => m.gauge(Metric.ConnectionStarted, 1), TypeError, 'ERR_REALM_METRICS_WRONG_KIND'],
    [() => m.connectionStarted(NaN), RangeError, 'ERR_REALM_METRICS_NON_FINITE_VALUE'],
    [() => m.connectionStarted(-1), RangeError, 'ERR_REALM_METRICS_NOT_INTEGER'],
    [() => m.connectionStarted('1'), TypeError, 'ERR_REALM_METRICS_INVALID_ARGUMENT'],
    [() => m.connectionOnline(Infinity), RangeError, 'ERR_REALM_METRICS_NON_FINITE_VALUE'],
    [() => m.connectionOnline(1.5), RangeError, 'ERR_REALM_METRICS_NOT_INTEGER'],
    [() => m.protocolUsed(-3), RangeError, 'ERR_REALM_METRICS_NOT_INTEGER'],
    [() => new RealmMetrics({ prefix: 'bad prefix', port: 9 }), TypeError, 'ERR_REALM_METRICS_INVALID_NAME'],
    [() => new RealmMetrics({ dialect: 'etsy', globalTags: { a: 'b' }, port: 9 }), TypeError, 'ERR_REALM_METRICS_TAGS_UNSUPPORTED'],
  ];
  for (const [fn, Ctor, code] of cases) {
    assert.throws(fn, (e) => e instanceof Ctor && e.code === code, `${fn} -> ${code}`);
  }
  m.close();
});

test('hostnameAsTag: prefix realm and a host tag (telegraf)', async () => {
  const r = await receiver();
  const m = new RealmMetrics({ host: '127.0.0.1', port: r.port, dialect: 'telegraf', hostnameAsTag: true, flushInterval: 0 });
  assert.equal(m.prefix, 'realm');
  m.sessionStarted();
  await m.close();
  await r.until(() => r.lines.length >= 1);
  assert.match(r.lines[0], /^realm\.session\.started,host=[^:]+:1\|c$/);
  await r.close();
});
