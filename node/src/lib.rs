//! Node.js bindings of realm-metrics (napi-rs 3): the ROS metric catalog, the StatsD codec, and
//! the aggregating emitter under the `StatsD` and `RealmMetrics` classes of the package's
//! JavaScript layer (`lib/`).
//!
//! Every export is `#[napi(catch_unwind)]`: a panic becomes a JavaScript exception, never a
//! crash. Errors are `TypeError` / `RangeError` / `Error` objects with a `code` property
//! (`ERR_REALM_METRICS_INVALID_NAME`, ...).
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Under `cfg(test)` napi-rs registers nothing, so the exports look unused.
#![cfg_attr(test, allow(dead_code, unused_imports))]

mod codec;
mod emitter;
mod error;
mod sink;
