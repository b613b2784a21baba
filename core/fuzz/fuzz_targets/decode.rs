//! Fuzz the decoder: any bytes decode to records or typed errors, never a panic, and every
//! accessor of what it returns works.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realm_metrics::wire::{decode, flatten, Flat, Record};

fuzz_target!(|data: &[u8]| {
    let mut lines = 0usize;
    for r in decode(data) {
        lines += 1;
        match r {
            Ok(Record::Metric(line)) => {
                let mut n = 0;
                for s in line.samples() {
                    n += 1;
                    let _ = s.tags().iter().count();
                    let _ = s.extensions().count();
                }
                assert!(n >= 1, "a valid line has at least one sample");
                assert_eq!(line.samples().next(), Some(line.first()));
            }
            Ok(Record::Event(e)) => {
                let _ = e.tags.iter().count();
            }
            Ok(Record::ServiceCheck(s)) => {
                assert!(s.status <= 3);
            }
            Err(e) => {
                assert!(e.line >= 1 && e.column >= 1);
                let _ = e.to_string();
            }
        }
    }
    assert!(lines <= data.iter().filter(|&&b| b == b'\n').count() + 1);
    for f in flatten(data, None).chain(flatten(data, Some("realm.h"))) {
        if let Flat::Value(v) = f {
            let _ = v.catalog;
        }
    }
});
