//! Library side of the `realm-metrics` command: its command line, and the JSON shapes it prints,
//! shared with its tests.
#![deny(missing_docs)]

pub mod command;
pub mod dashboard;
pub mod json;
pub mod markdown;
pub mod ops;
pub mod tail;
