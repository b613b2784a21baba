//! # realm-metrics
//!
//! The Realm Object Server (ROS) metric catalog and the StatsD wire format, for sync workers that
//! report to a StatsD daemon (Etsy statsd, Telegraf, the Datadog agent) as
//! `realm.<hostname>.<metric>`.
//!
//! - [`catalog`]: the 18 metrics of the ROS monitoring reference, typed ([`Metric`]).
//! - [`name`]: name validation, sanitizing, and the default prefix.
//! - [`wire`]: an allocation-free encoder, packet builder and zero-copy decoder for the Etsy,
//!   Telegraf and DogStatsD dialects.
//!
//! The crate is `no_std` without its default `std` feature; encoding and decoding need neither
//! `std` nor `alloc`.
//!
//! ```
//! use realm_metrics::wire::{decode, Dialect, Encoder, Record, Value};
//! use realm_metrics::Metric;
//!
//! let enc = Encoder::new(Dialect::Etsy, "realm.example.com", &[]).unwrap();
//! let mut buf = [0u8; 64];
//! let n = enc.encode_metric(&mut buf, Metric::ConnectionStarted, Value::UInt(2)).unwrap();
//!
//! for line in decode(&buf[..n]) {
//!     let Record::Metric(line) = line.unwrap() else { unreachable!() };
//!     assert_eq!(line.name, "realm.example.com.connection.started");
//!     assert_eq!(line.first().ty.kind(), Some(realm_metrics::Kind::Counter));
//! }
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod catalog;
pub mod name;
pub mod wire;

pub use catalog::{Group, Kind, Metric, METRIC_COUNT};

#[cfg(feature = "std")]
pub mod emitter;

// The README's examples are compiled and run as doctests, so that they cannot go stale.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
