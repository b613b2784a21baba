'use strict';
// Asserts what the senders' events became in InfluxDB, through the real Etsy statsd daemon and
// InfluxDB's graphite listener (tests/pipeline/run.sh):
//
//   node check.js INFLUX_URL DATABASE PREFIX...
//
// For each prefix (one per binding, e.g. realm.pipe-rust-1a2b), polls InfluxDB until
//   - every counter's stats_counts values sum to exactly the expected count,
//   - every gauge's last stats.gauges value is exactly the expected value,
//   - the measurements under the prefix are exactly the expected 17 wire names,
// then waits two more statsd flushes and checks again (nothing late, nothing double).
// Exits 1 with the differences when that does not happen within the deadline (default 30 s,
// PIPELINE_DEADLINE_MS). Prints one summary line per prefix.

// The events every sender records: expected.js.
const { COUNTERS, GAUGES, settle, sleep } = require('./expected.js');
const MEASUREMENTS = [...new Set([...Object.keys(COUNTERS), ...Object.keys(GAUGES)])].sort();

const [url, db, ...prefixes] = process.argv.slice(2);
const deadlineMs = Number(process.env.PIPELINE_DEADLINE_MS || 30000);
const q = (s) => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\\/-]/g, '\\$&');

async function influx(statements) {
  const u = new URL('/query', url);
  u.searchParams.set('db', db);
  u.searchParams.set('epoch', 'ms');
  u.searchParams.set('q', statements.join(';'));
  const res = await fetch(u, { signal: AbortSignal.timeout(5000) });
  const body = await res.json();
  if (!res.ok || body.error) throw new Error(`InfluxDB: ${res.status} ${JSON.stringify(body)}`);
  return body.results;
}

function scalar(result) {
  if (result.error) throw new Error(result.error);
  const s = result.series;
  if (!s || s.length === 0) return null;
  return s[0].values[0][1];
}

// What InfluxDB holds for one prefix, in the shape of the expectations.
async function observe(prefix) {
  const cnames = Object.keys(COUNTERS);
  const gnames = Object.keys(GAUGES);
  const stmts = [
    ...cnames.map((n) => `SELECT sum("value") FROM ${q(`${prefix}.${n}`)} WHERE "metric_type" = 'counter'`),
    ...gnames.map((n) => `SELECT last("value") FROM ${q(`${prefix}.${n}`)} WHERE "metric_type" = 'gauge'`),
    `SHOW MEASUREMENTS WITH MEASUREMENT =~ /^${reEscape(prefix)}\\./`,
  ];
  const r = await influx(stmts);
  const counters = {};
  const gauges = {};
  cnames.forEach((n, i) => { counters[n] = scalar(r[i]); });
  gnames.forEach((n, i) => { gauges[n] = scalar(r[cnames.length + i]); });
  const m = r[r.length - 1];
  if (m.error) throw new Error(m.error);
  const measurements = (m.series ? m.series[0].values.map((v) => v[0]) : [])
    .map((name) => name.slice(prefix.length + 1))
    .sort();
  return { counters, gauges, measurements };
}

function differences(obs) {
  const d = [];
  for (const [n, v] of Object.entries(COUNTERS)) {
    if (obs.counters[n] !== v) d.push(`counter ${n}: sum ${obs.counters[n]}, expected ${v}`);
  }
  for (const [n, v] of Object.entries(GAUGES)) {
    if (obs.gauges[n] !== v) d.push(`gauge ${n}: last ${obs.gauges[n]}, expected ${v}`);
  }
  if (JSON.stringify(obs.measurements) !== JSON.stringify(MEASUREMENTS)) {
    d.push(`measurements ${JSON.stringify(obs.measurements)}, expected ${JSON.stringify(MEASUREMENTS)}`);
  }
  return d;
}

async function main() {
  if (!url || !db || prefixes.length === 0) throw new Error('usage: check.js INFLUX_URL DATABASE PREFIX...');
  const t0 = Date.now();
  const deadline = t0 + deadlineMs;
  let failed = false;
  const settledAt = {};
  for (const p of prefixes) {
    const diff = await settle(async () => differences(await observe(p)), deadline, 250, 'no answer from InfluxDB yet');
    settledAt[p] = Date.now() - t0;
    if (diff.length) {
      failed = true;
      console.error(`FAIL ${p}:\n  ${diff.join('\n  ')}`);
    }
  }
  if (failed) process.exit(1);
  // Two more statsd flushes (1 s each): idle counters now arrive as 0, gauges are re-sent.
  // The sums and last values must not move.
  await sleep(2200);
  for (const p of prefixes) {
    const diff = differences(await observe(p));
    if (diff.length) {
      failed = true;
      console.error(`FAIL ${p} (after two more flushes):\n  ${diff.join('\n  ')}`);
    } else {
      const c = Object.entries(COUNTERS).map(([n, v]) => `${n}=${v}`).join(' ');
      const g = Object.entries(GAUGES).map(([n, v]) => `${n}=${v}`).join(' ');
      console.log(`ok ${p}: ${MEASUREMENTS.length} measurements; counter sums ${c}; last gauges ${g} (settled after ${settledAt[p]} ms)`);
    }
  }
  if (failed) process.exit(1);
}

main().catch((e) => {
  console.error('check.js:', e.stack || e);
  process.exit(2);
});
