// Type-checked by `tsc --noEmit` (test.sh): the package as a TypeScript user sees it.
import StatsD, { RealmMetrics, Metric, catalog, encode, decode } from 'realm-metrics';
import type { DecodedValue, StatsDOptions, EmitterStats, CatalogEntry } from 'realm-metrics';

const options: StatsDOptions = { host: 'localhost', port: 8125, prefix: 'app.', globalTags: { env: 'prod' }, errorHandler: (e) => console.error(e.code) };
const client = new StatsD(options);
client.increment('requests');
client.increment('requests', 2, 0.5, ['route:sync'], (err?: Error) => void err);
client.increment(['a', 'b'], { route: 'sync' });
client.decrement('queue');
client.gauge('load', 0.75);
client.timing('latency', new Date());
client.histogram('size', 3, ['k:v']);
client.distribution('d', 1.5);
client.set('users', 'u1');
const flushed: Promise<void> = client.flush();
void flushed;

const rm = new RealmMetrics({ prefix: 'realm.example.com' });
rm.connectionStarted();
rm.connectionOnline(3);
rm.protocolUsed(7);
rm.protocolBytesReceived(1500);
rm.protocolBytesReceivedGauge(90000);
rm.count(Metric.SessionStarted, 2);
rm.gauge(Metric.RealmsOpen, 4);
const m: Metric = Metric.ProtocolBytesSentGauge;
const stats: EmitterStats = rm.stats();
const rows: ReadonlyArray<CatalogEntry> = catalog;
const line: string = encode('a.b', 1, 'c', { dialect: 'dogstatsd', tags: ['k:v'], sampleRate: 0.5 });
const out = decode(line);
for (const v of out.metrics) {
  if (v.type !== 'event' && v.type !== 'service_check') {
    const d: DecodedValue = v;
    void d.sampleRate;
  }
}
void [m, stats.packetsSent, rows.length, rm.close()];

// hot-shots' other shapes.
const positional = new StatsD('localhost', 8125, 'app', undefined, false, false, true, ['env:prod']);
positional.increment('x', 1, { sampleRate: 0.5, tags: { k: 'v' } }, (err, bytes) => void [err, bytes]);
const child = positional.childClient({ prefix: 'child', globalTags: { k: 'c' } });
child.event('deploy', 'text', { priority: 'low' }, ['v:1']);
child.check('svc', StatsD.CHECKS.OK, { message: 'fine' });
const timed = child.timer((a: number, b: number) => a + b, 'add');
const three: number = timed(1, 2);
const atimed = child.asyncTimer(async (x: string) => x.length, 'len');
const later: Promise<number> = atimed('abc');
const tcp = new StatsD({ protocol: 'tcp', host: 'localhost', port: 8125, aggregation: false, tagPrefix: '#', tagSeparator: ',', cacheDns: true });
void [three, later, tcp.close()];
