'use strict';
// What every sender records (core/examples/pipeline_sender.rs, sender.c, sender.js), as the exact
// counter sums and last gauge values a daemon must end up with: shared by check.js (InfluxDB)
// and check-graphite.js (Graphite's carbon-cache and whisper files).
const COUNTERS = {
  'client.unsyncable': 1,
  'session.started': 3, // +1, +2
  'session.failed': 2,
  'session.terminated': 2, // +1 in each batch
  'connection.started': 7, // 4 + 3 increments of 1
  'connection.failed': 4,
  'connection.terminated': 5,
  'authentication.failed': 6,
  'permission.denied': 8,
  'protocol.violated': 9,
  'protocol.bytes.received': 1234, // +1000, +234 (the counter twin)
  'protocol.bytes.sent': 4097, // +4096, +1
  'protocol.24.used': 3,
  'protocol.26.used': 2,
};
const GAUGES = {
  'session.online': 11,
  'connection.online': 42, // set 40, add 2
  'realms.open': -3, // set 5, add -8: a negative absolute gauge (0|g then -3|g on the wire)
  'protocol.bytes.received': 987654, // the gauge twin: set 1000, then 987654
  'protocol.bytes.sent': 5000000000, // set 123, then beyond 32 bits
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `differences()` (a list of what does not match yet; it may throw) every `stepMs` until
 * it is empty (returns []) or `deadline` passes (returns the last list, or `pending` if none). */
async function settle(differences, deadline, stepMs, pending) {
  let last = [pending];
  for (;;) {
    try {
      last = await differences();
      if (last.length === 0) return [];
    } catch (e) {
      last = [String(e.message || e)];
    }
    if (Date.now() > deadline) return last;
    await sleep(stepMs);
  }
}

module.exports = { COUNTERS, GAUGES, settle, sleep };
