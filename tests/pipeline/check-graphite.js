'use strict';
// Asserts what the senders' events became in Graphite itself: Etsy statsd's graphite backend
// writing into Debian's carbon-cache, read back from the whisper files with `whisper-fetch`
// (Debian python3-whisper) (tests/pipeline/run.sh):
//
//   node check-graphite.js WHISPER_DIR FLUSH_MS PREFIX...
//
// For each prefix (one per binding, e.g. realm.pipe-rust-1a2b), polls the whisper files until
//   - every counter's stats_counts.<prefix>.<name> points sum to exactly the expected count,
//   - every gauge's last stats.gauges.<prefix>.<name> point is exactly the expected value,
//   - the whisper files under stats_counts.<prefix> and stats.gauges.<prefix> are exactly the
//     expected counters and gauges,
// then waits two more statsd flushes (FLUSH_MS each) and checks again (nothing late, nothing
// double). The same expectations as check.js (expected.js). Exits 1 with the differences when
// that does not happen within the deadline (default 30 s, PIPELINE_DEADLINE_MS).

const fs = require('node:fs');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { COUNTERS, GAUGES, settle, sleep } = require('./expected.js');

const [dir, flushArg, ...prefixes] = process.argv.slice(2);
const flushMs = Number(flushArg);
const deadlineMs = Number(process.env.PIPELINE_DEADLINE_MS || 30000);

// A metric name's whisper file, as carbon lays them out (one directory per dot).
const wsp = (name) => path.join(dir, ...name.split('.')) + '.wsp';

// The non-null points of one whisper file, oldest first; null when the file does not exist yet.
function fetchPoints(name) {
  const file = wsp(name);
  if (!fs.existsSync(file)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    execFile('whisper-fetch', ['--json', file], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`whisper-fetch ${file}: ${err.message} ${stderr}`));
      try {
        resolve(JSON.parse(stdout).values.filter((v) => v !== null));
      } catch (e) {
        reject(new Error(`whisper-fetch ${file}: ${e.message}`));
      }
    });
  });
}

// Every metric name (relative to `under`) with a whisper file below the directory of `under`.
function listNames(under) {
  const base = path.join(dir, ...under.split('.'));
  const out = [];
  const walk = (d, rel) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(d, e.name), [...rel, e.name]);
      else if (e.name.endsWith('.wsp')) out.push([...rel, e.name.slice(0, -4)].join('.'));
    }
  };
  walk(base, []);
  return out.sort();
}

async function pool(tasks, n) {
  const results = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

// What the whisper files hold for one prefix, in the shape of the expectations.
async function observe(prefix) {
  const cnames = Object.keys(COUNTERS);
  const gnames = Object.keys(GAUGES);
  const points = await pool([
    ...cnames.map((n) => () => fetchPoints(`stats_counts.${prefix}.${n}`)),
    ...gnames.map((n) => () => fetchPoints(`stats.gauges.${prefix}.${n}`)),
  ], 6);
  const counters = {};
  const gauges = {};
  cnames.forEach((n, i) => {
    const p = points[i];
    counters[n] = p === null ? null : p.reduce((a, b) => a + b, 0);
  });
  gnames.forEach((n, i) => {
    const p = points[cnames.length + i];
    gauges[n] = p === null || p.length === 0 ? null : p[p.length - 1];
  });
  return {
    counters,
    gauges,
    counterFiles: listNames(`stats_counts.${prefix}`),
    gaugeFiles: listNames(`stats.gauges.${prefix}`),
  };
}

function differences(obs) {
  const d = [];
  for (const [n, v] of Object.entries(COUNTERS)) {
    if (obs.counters[n] !== v) d.push(`stats_counts ${n}: sum ${obs.counters[n]}, expected ${v}`);
  }
  for (const [n, v] of Object.entries(GAUGES)) {
    if (obs.gauges[n] !== v) d.push(`stats.gauges ${n}: last ${obs.gauges[n]}, expected ${v}`);
  }
  const ce = Object.keys(COUNTERS).sort();
  const ge = Object.keys(GAUGES).sort();
  if (JSON.stringify(obs.counterFiles) !== JSON.stringify(ce)) {
    d.push(`stats_counts files ${JSON.stringify(obs.counterFiles)}, expected ${JSON.stringify(ce)}`);
  }
  if (JSON.stringify(obs.gaugeFiles) !== JSON.stringify(ge)) {
    d.push(`stats.gauges files ${JSON.stringify(obs.gaugeFiles)}, expected ${JSON.stringify(ge)}`);
  }
  return d;
}

async function main() {
  if (!dir || !(flushMs > 0) || prefixes.length === 0) {
    throw new Error('usage: check-graphite.js WHISPER_DIR FLUSH_MS PREFIX...');
  }
  const t0 = Date.now();
  const deadline = t0 + deadlineMs;
  let failed = false;
  const settledAt = {};
  for (const p of prefixes) {
    const diff = await settle(async () => differences(await observe(p)), deadline, 500, 'no whisper files yet');
    settledAt[p] = Date.now() - t0;
    if (diff.length) {
      failed = true;
      console.error(`FAIL graphite ${p}:\n  ${diff.join('\n  ')}`);
    }
  }
  if (failed) process.exit(1);
  // Two more statsd flushes: idle counters now arrive as 0, gauges are re-sent. The sums and
  // last values must not move.
  await sleep(2 * flushMs + 500);
  for (const p of prefixes) {
    const diff = differences(await observe(p));
    if (diff.length) {
      failed = true;
      console.error(`FAIL graphite ${p} (after two more flushes):\n  ${diff.join('\n  ')}`);
    } else {
      const c = Object.entries(COUNTERS).map(([n, v]) => `${n}=${v}`).join(' ');
      const g = Object.entries(GAUGES).map(([n, v]) => `${n}=${v}`).join(' ');
      console.log(`ok graphite ${p}: ${Object.keys(COUNTERS).length} stats_counts + ${Object.keys(GAUGES).length} stats.gauges whisper files; counter sums ${c}; last gauges ${g} (settled after ${settledAt[p]} ms)`);
    }
  }
  if (failed) process.exit(1);
}

main().catch((e) => {
  console.error('check-graphite.js:', e.stack || e);
  process.exit(2);
});
