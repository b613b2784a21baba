'use strict';
// Sends the pipeline test's event sequence (tests/pipeline/run.sh) through the Node package.
//
//   node tests/pipeline/sender.js 127.0.0.1 8125 realm.pipe-node-1
//
// The same events as core/examples/pipeline_sender.rs and sender.c, in two batches with a
// flush between them, through the typed RealmMetrics class. Prints the emitter's stats()
// as one JSON line.

const StatsD = require('../../node');

async function main() {
  const [host, port, prefix] = process.argv.slice(2);
  if (!host || !port || !prefix) throw new Error('usage: sender.js HOST PORT PREFIX');
  const { Metric } = StatsD;
  const m = new StatsD.RealmMetrics({ host, port: Number(port), prefix, flushInterval: 200 });
  if (m.prefix !== prefix) throw new Error(`prefix ${m.prefix} != ${prefix}`);

  // Batch 1.
  for (let i = 0; i < 4; i++) m.connectionStarted();
  m.clientUnsyncable();
  m.sessionStarted();
  m.sessionStarted(2);
  m.sessionFailed(2);
  m.sessionTerminated();
  m.protocolBytesReceived(1000);
  m.protocolBytesSent(4096);
  m.protocolUsed(24);
  m.protocolUsed(24);
  m.protocolUsed(26);
  m.sessionOnline(11);
  m.connectionOnline(40);
  m.realmsOpen(5);
  m.protocolBytesReceivedGauge(1000);
  m.protocolBytesSentGauge(123);
  await m.flush();

  // Batch 2.
  for (let i = 0; i < 3; i++) m.connectionStarted();
  m.count(Metric.SessionTerminated);
  m.connectionFailed(4);
  m.connectionTerminated(5);
  m.authenticationFailed(6);
  m.permissionDenied(8);
  m.protocolViolated(9);
  m.protocolBytesReceived(234);
  m.protocolBytesSent(1);
  m.protocolUsed(24);
  m.protocolUsed(26);
  m.gaugeDelta(Metric.ConnectionOnline, 2);
  m.gaugeDelta(Metric.RealmsOpen, -8);
  m.protocolBytesReceivedGauge(987654);
  m.gauge(Metric.ProtocolBytesSentGauge, 5000000000);
  await m.flush();
  await m.close();

  const s = m.stats();
  console.log(JSON.stringify({
    binding: 'node',
    flushes: s.flushes,
    packets_sent: s.packetsSent,
    lines_sent: s.linesSent,
    send_errors: s.sendErrors,
    lines_dropped_oversize: s.linesDroppedOversize,
    encode_errors: s.encodeErrors,
    dropped_protocol_versions: s.droppedProtocolVersions,
  }));
}

main().catch((e) => {
  console.error('sender.js:', e && e.stack ? e.stack : e);
  process.exit(1);
});
