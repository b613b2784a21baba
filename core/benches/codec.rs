//! Codec benchmarks: encode ns per catalog line; decode MB/s on realistic 1432-byte packets,
//! side by side with a straightforward split-based parser as the reference.
//!
//! `cargo bench -p realm-metrics --bench codec`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use realm_metrics::wire::{decode, pack, Dialect, Encoder, Record, SampleValue, Value};
use realm_metrics::Metric;

fn bench_encode(c: &mut Criterion) {
    let enc = Encoder::new(Dialect::Etsy, "realm.worker-3.example.com", &[]).unwrap();
    let mut buf = [0u8; 256];
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("catalog counter line", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n = n.wrapping_add(7919);
            black_box(
                enc.encode_metric(
                    &mut buf,
                    black_box(Metric::ConnectionStarted),
                    Value::UInt(n),
                )
                .unwrap(),
            )
        })
    });
    g.bench_function("catalog gauge line", |b| {
        let mut n = 0i64;
        b.iter(|| {
            n = (n + 37) % 100_000;
            black_box(
                enc.encode_metric(&mut buf, black_box(Metric::ConnectionOnline), Value::Int(n))
                    .unwrap(),
            )
        })
    });
    let template = enc.template(Metric::ConnectionStarted).unwrap();
    g.bench_function("catalog counter line (LineTemplate)", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n = n.wrapping_add(7919);
            black_box(template.write_u64(&mut buf, n).unwrap())
        })
    });
    g.bench_function("itoa floor (prefix + name + itoa)", |b| {
        // The floor: copy the same bytes and format the integer, no checks.
        let prefix = b"realm.worker-3.example.com.";
        let name = b"connection.started";
        let mut n = 0u64;
        b.iter(|| {
            n = n.wrapping_add(7919);
            let mut p = 0;
            buf[..prefix.len()].copy_from_slice(prefix);
            p += prefix.len();
            buf[p..p + name.len()].copy_from_slice(name);
            p += name.len();
            buf[p] = b':';
            p += 1;
            let mut ib = itoa::Buffer::new();
            let s = ib.format(n).as_bytes();
            buf[p..p + s.len()].copy_from_slice(s);
            p += s.len();
            buf[p..p + 2].copy_from_slice(b"|c");
            black_box(p + 2)
        })
    });
    g.finish();
}

/// A realistic corpus: a fleet of sync workers' catalog lines, plus some tagged and sampled
/// custom metrics, packed into 1432-byte datagrams.
fn corpus(lines: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<String> = Vec::with_capacity(lines);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..lines {
        let host = format!("worker-{}.sync.example.com", rnd() % 16);
        let r = rnd();
        let line = match i % 10 {
            0..=5 => {
                let m = Metric::ALL[(r % 18) as usize];
                if m.is_templated() {
                    format!("realm.{host}.protocol.{}.used:{}|c", 20 + r % 8, 1 + r % 50)
                } else {
                    format!(
                        "realm.{host}.{}:{}|{}",
                        m.name(),
                        r % 100_000,
                        m.kind().wire_type()
                    )
                }
            }
            6 => format!(
                "realm.{host}.request.latency:{}.{}|ms|@0.1",
                r % 900,
                r % 100
            ),
            7 => format!("realm.{host}.connection.online:-{}|g", r % 40),
            8 => format!(
                "sync.upload.bytes,host={host},realm=r{}:{}|c",
                r % 100,
                r % 9000
            ),
            _ => format!("sync.batch:{}|h|#env:prod,worker:{}", r % 1000, r % 16),
        };
        out.push(line);
    }
    pack(out.iter().map(|s| s.as_bytes()), 1432).0
}

/// The reference: a straightforward parser with `str::split`, extracting name, value, type and
/// rate of each line as the decoder does (no tags beyond splitting them off).
fn split_parser(packet: &[u8]) -> (usize, f64) {
    let text = std::str::from_utf8(packet).unwrap();
    let mut n = 0;
    let mut sum = 0.0;
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let mut fields = rest.split('|');
        let value: f64 = fields.next().unwrap_or("").parse().unwrap_or(0.0);
        let ty = fields.next().unwrap_or("");
        let mut rate = 1.0;
        for f in fields {
            if let Some(r) = f.strip_prefix('@') {
                rate = r.parse().unwrap_or(1.0);
            }
        }
        let name = name.split(',').next().unwrap_or(name);
        black_box((name, ty));
        sum += value / rate;
        n += 1;
    }
    (n, sum)
}

fn ours(packet: &[u8]) -> (usize, f64) {
    let mut n = 0;
    let mut sum = 0.0;
    for r in decode(packet) {
        if let Ok(Record::Metric(line)) = r {
            black_box(line.name);
            for s in line.samples() {
                if let SampleValue::Number(v) = s.value {
                    sum += v.as_f64() / s.sample_rate.unwrap_or(1.0);
                }
                black_box(s.ty);
                n += 1;
            }
        }
    }
    (n, sum)
}

fn bench_decode(c: &mut Criterion) {
    let packets = corpus(100_000);
    let bytes: usize = packets.iter().map(Vec::len).sum();
    assert_eq!(
        packets.iter().map(|p| ours(p).0).sum::<usize>(),
        packets.iter().map(|p| split_parser(p).0).sum::<usize>(),
        "both parsers must see every line"
    );
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("realm-metrics decode", |b| {
        b.iter(|| {
            let mut t = 0;
            for p in &packets {
                t += ours(black_box(p)).0;
            }
            t
        })
    });
    g.bench_function("reference split parser", |b| {
        b.iter(|| {
            let mut t = 0;
            for p in &packets {
                t += split_parser(black_box(p)).0;
            }
            t
        })
    });
    g.finish();
}

criterion_group!(benches, bench_encode, bench_decode);
criterion_main!(benches);
