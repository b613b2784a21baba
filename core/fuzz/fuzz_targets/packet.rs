//! Fuzz the packet builder with arbitrary lines, maximum payloads and buffer sizes.
//!
//! Asserts, for `Packer` and for `pack`: every datagram is non-empty and at most the effective
//! maximum payload; a datagram is exactly a run of consecutive accepted lines joined by `\n`
//! (lines are never split, order is kept, nothing is lost or duplicated); the lines rejected are
//! exactly those longer than the maximum, each reported with its length; and the result equals
//! a straightforward greedy reference model.
#![no_main]

use libfuzzer_sys::arbitrary::{Result as AResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use realm_metrics::wire::{pack, LineTooLong, Packer};

/// The reference: greedy packing, a line that does not fit starts a new datagram.
fn model(lines: &[&[u8]], max: usize) -> (Vec<Vec<u8>>, usize) {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut dropped = 0;
    for l in lines {
        if l.len() > max {
            dropped += 1;
            continue;
        }
        if !cur.is_empty() && cur.len() + 1 + l.len() > max {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(b'\n');
        }
        cur.extend_from_slice(l);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    (out, dropped)
}

fn run(u: &mut Unstructured<'_>) -> AResult<()> {
    let max = if u.ratio(1u8, 8u8)? {
        usize::from(u.arbitrary::<u16>()?)
    } else {
        usize::from(u.int_in_range(0u16..=200)?)
    };
    // The packer's buffer: usually `max` bytes, sometimes smaller or larger.
    let buf_len = match u.int_in_range(0u8..=5)? {
        0 => usize::from(u.int_in_range(0u16..=256)?),
        1 => max + usize::from(u.int_in_range(0u8..=16)?),
        _ => max,
    };
    let nlines = u.int_in_range(0u8..=64)?;
    let mut lines: Vec<&[u8]> = Vec::new();
    for _ in 0..nlines {
        let len = if u.ratio(1u8, 6u8)? {
            usize::from(u.int_in_range(0u16..=(max as u16).saturating_mul(2).max(4))?)
        } else {
            usize::from(u.int_in_range(1u8..=40)?)
        };
        let len = len.min(u.len());
        lines.push(u.bytes(len)?);
    }
    // Empty lines are a no-op at the start of a datagram: the emitter never pushes them, and
    // the model below would disagree on them (an empty first line adds no separator).
    lines.retain(|l| !l.is_empty());

    let mut buf = vec![0u8; buf_len];
    let mut p = Packer::new(&mut buf, max);
    let eff = p.max_payload();
    assert_eq!(eff, max.min(buf_len));
    let mut datagrams: Vec<Vec<u8>> = Vec::new();
    let mut dropped = 0usize;
    for l in &lines {
        let before = p.pending().to_vec();
        match p.push(l, |d| datagrams.push(d.to_vec())) {
            Ok(()) => {
                assert!(p.pending().len() <= eff);
                assert!(p.pending().ends_with(l));
            }
            Err(LineTooLong { len, max: m }) => {
                assert_eq!(len, l.len());
                assert_eq!(m, eff);
                assert!(len > eff);
                // Unchanged on rejection.
                assert_eq!(p.pending(), &before[..]);
                dropped += 1;
            }
        }
    }
    p.finish(|d| datagrams.push(d.to_vec()));
    assert!(p.pending().is_empty());

    let (expect, expect_dropped) = model(&lines, eff);
    assert_eq!(dropped, expect_dropped);
    assert_eq!(
        dropped,
        lines.iter().filter(|l| l.len() > eff).count(),
        "dropped = lines longer than max"
    );
    assert_eq!(datagrams, expect);

    // Properties, independent of the model: size bounds, and each datagram is a run of whole
    // accepted lines, in order.
    let accepted: Vec<&[u8]> = lines.iter().copied().filter(|l| l.len() <= eff).collect();
    let mut next = 0usize;
    for d in &datagrams {
        assert!(!d.is_empty() && d.len() <= eff, "{} > {eff}", d.len());
        let mut joined: Vec<u8> = Vec::new();
        while joined.len() < d.len() {
            let l = accepted[next];
            if !joined.is_empty() {
                joined.push(b'\n');
            }
            joined.extend_from_slice(l);
            next += 1;
        }
        assert_eq!(&joined, d, "a datagram is not a run of whole lines");
    }
    assert_eq!(next, accepted.len(), "every accepted line was sent once");

    // `pack` allocates its own buffer of `max` bytes: same datagrams for that maximum.
    let (packed, packed_dropped) = pack(lines.iter().copied(), max);
    let (expect, expect_dropped) = model(&lines, max);
    assert_eq!(packed, expect);
    assert_eq!(packed_dropped, expect_dropped);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});
