//! Sends the pipeline test's event sequence (tests/pipeline/run.sh) through the Rust emitter.
//!
//! ```sh
//! cargo run --example pipeline_sender -p realm-metrics -- 127.0.0.1:8125 realm.pipe-rust-1
//! ```
//!
//! Every binding's sender (this file, tests/pipeline/sender.c, tests/pipeline/sender.js) records
//! the same events, in two batches with a flush between them; tests/pipeline/check.js knows the
//! sums and last values they must produce. Prints the emitter's stats as one JSON line.

use std::error::Error;
use std::time::Duration;

use realm_metrics::emitter::Emitter;
use realm_metrics::Metric;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(prefix)) = (args.next(), args.next()) else {
        return Err("usage: pipeline_sender HOST:PORT PREFIX".into());
    };
    let m = Emitter::builder()
        .address(address)
        .prefix(prefix)
        .flush_interval(Duration::from_millis(200))
        .build()?;

    // Batch 1.
    for _ in 0..4 {
        m.count(Metric::ConnectionStarted, 1)?;
    }
    m.count(Metric::ClientUnsyncable, 1)?;
    m.count(Metric::SessionStarted, 1)?;
    m.count(Metric::SessionStarted, 2)?;
    m.count(Metric::SessionFailed, 2)?;
    m.count(Metric::SessionTerminated, 1)?;
    m.count(Metric::ProtocolBytesReceived, 1000)?;
    m.count(Metric::ProtocolBytesSent, 4096)?;
    m.protocol_used(24)?;
    m.protocol_used(24)?;
    m.protocol_used(26)?;
    m.gauge_set(Metric::SessionOnline, 11)?;
    m.gauge_set(Metric::ConnectionOnline, 40)?;
    m.gauge_set(Metric::RealmsOpen, 5)?;
    m.gauge_set(Metric::ProtocolBytesReceivedGauge, 1000)?;
    m.gauge_set(Metric::ProtocolBytesSentGauge, 123)?;
    m.flush()?;

    // Batch 2.
    for _ in 0..3 {
        m.count(Metric::ConnectionStarted, 1)?;
    }
    m.count(Metric::SessionTerminated, 1)?;
    m.count(Metric::ConnectionFailed, 4)?;
    m.count(Metric::ConnectionTerminated, 5)?;
    m.count(Metric::AuthenticationFailed, 6)?;
    m.count(Metric::PermissionDenied, 8)?;
    m.count(Metric::ProtocolViolated, 9)?;
    m.count(Metric::ProtocolBytesReceived, 234)?;
    m.count(Metric::ProtocolBytesSent, 1)?;
    m.protocol_used(24)?;
    m.protocol_used(26)?;
    m.gauge_add(Metric::ConnectionOnline, 2)?;
    m.gauge_add(Metric::RealmsOpen, -8)?;
    m.gauge_set(Metric::ProtocolBytesReceivedGauge, 987_654)?;
    m.gauge_set(Metric::ProtocolBytesSentGauge, 5_000_000_000)?;
    m.flush()?;
    m.close();

    let s = m.stats();
    println!(
        "{{\"binding\":\"rust\",\"flushes\":{},\"packets_sent\":{},\"lines_sent\":{},\"send_errors\":{},\"lines_dropped_oversize\":{},\"encode_errors\":{},\"dropped_protocol_versions\":{}}}",
        s.flushes,
        s.packets_sent,
        s.lines_sent,
        s.send_errors,
        s.lines_dropped_oversize,
        s.encode_errors,
        s.dropped_protocol_versions
    );
    Ok(())
}
