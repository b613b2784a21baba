//! Unit tests of the decoder internals.

use super::fast::{fast_line, name_stop_mask};
use super::tags::check_tags;
use super::*;
use proptest::prelude::*;

#[test]
fn same_segment_follows_the_segments_of_a_line() {
    let Ok(Record::Metric(l)) = decode_line(b"k,a=b:1:2|c:3:4|ms|@0.5:5|g|#t", 1) else {
        panic!("not a metric line");
    };
    let s: Vec<Sample<'_>> = l.samples().collect();
    assert_eq!(s.len(), 5);
    let same = |i: usize, j: usize| s[i].same_segment(&s[j]);
    assert!(same(0, 1), "first segment: the first value and the next");
    assert!(same(2, 3));
    assert!(
        !same(1, 2),
        "segments with the same tags text are still different segments"
    );
    assert!(!same(3, 4));
    assert!(s[0].tags().is_same(&s[1].tags()));
    assert!(
        !s[3].tags().is_same(&s[4].tags()),
        "the last segment has its own |# tags"
    );
    // Equal text elsewhere is not the same slice.
    let other = decode_line(b"k,a=b:1:2|c", 1);
    let Ok(Record::Metric(o)) = other else {
        panic!("not a metric line");
    };
    assert!(!o.first().same_segment(&s[0]));
    assert_eq!(o.first().tags(), s[0].tags());
}

/// The fast path must agree with the general path on every line it accepts.
fn check_fast_matches_general(line: &[u8]) {
    if let Some((fast, advance)) = fast_line(line, 1) {
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
        assert_eq!(
            advance,
            (end + 1).min(line.len()),
            "{:?}",
            String::from_utf8_lossy(line)
        );
        let mut l = &line[..end];
        if let Some((b'\r', rest)) = l.split_last() {
            l = rest;
        }
        let common = decode_common(line).unwrap();
        assert_eq!(common.len, l.len(), "{:?}", String::from_utf8_lossy(line));
        assert_eq!(common.advance, advance);
        assert_eq!(common.tags(), fast.first().tags());
        // Bit for bit: `==` takes -0.0 for 0.0.
        let bits = |n: Number| match n {
            Number::Float(v) => (2, v.to_bits()),
            Number::Int(v) => (1, v as u64),
            Number::UInt(v) => (0, v),
        };
        let Ok(Record::Metric(g)) = decode_line(l, 1) else {
            unreachable!()
        };
        let SampleValue::Number(gv) = g.first().value else {
            unreachable!()
        };
        assert_eq!(
            bits(common.value),
            bits(gv),
            "{:?}",
            String::from_utf8_lossy(line)
        );
        let general = decode_line(l, 1);
        assert_eq!(
            general,
            Ok(Record::Metric(fast)),
            "{:?}",
            String::from_utf8_lossy(line)
        );
        let a: std::vec::Vec<_> = fast.samples().collect();
        let Ok(Record::Metric(g)) = general else {
            unreachable!()
        };
        let b: std::vec::Vec<_> = g.samples().collect();
        assert_eq!(a, b);
    }
}

#[test]
fn fast_path_examples() {
    for l in [
        &b"a:1|c"[..],
        b"realm.h.connection.online:-3|g\n",
        b"x:+4|g\r\n",
        b"t:1.5|ms|@0.25\nnext",
        b"big:18446744073709551615|c",
        b"neg:-9223372036854775808|g",
        b"over:18446744073709551616|c",
        b"f:1e-7|h",
        b"z:-0|g",
        b"realm.worker-3.sync.example.com.connection.started:12|c",
    ] {
        assert!(
            fast_line(l, 1).is_some(),
            "{:?}",
            std::string::String::from_utf8_lossy(l)
        );
        check_fast_matches_general(l);
    }
    for l in [
        &b"a:1|c|#t"[..],
        b"a,k=v:1|c",
        b"a:1:2|d",
        b"s:x|s",
        b"a:1|cc",
        b"a:|c",
        b":1|c",
        b"a:1|@0.5",
    ] {
        check_fast_matches_general(l);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]
    #[test]
    fn swar_mask_finds_the_first_stop_byte(bytes in proptest::array::uniform8(prop_oneof![
        4 => 0x20u8..0x7f, 1 => Just(b':'), 1 => Just(b','), 1 => Just(b'|'), 1 => any::<u8>()])) {
        let scalar = bytes.iter().position(|&c| c == b':' || c == b',' || c == b'|' || !(0x20..0x7f).contains(&c));
        let m = name_stop_mask(u64::from_le_bytes(bytes));
        let swar = (m != 0).then(|| (m.trailing_zeros() / 8) as usize);
        prop_assert_eq!(swar, scalar);
    }

    #[test]
    fn fast_path_agrees_with_general_path(line in "[a-z.]{0,6}(,[a-z=,]{0,6})?[:,|]?[-+]?[0-9.eE+-]{0,8}[|]?(c|g|ms|h|d|s|x)?(\\|@[0-9.e-]{0,5})?(\\|#[a-z:,|]{0,6})?[\r]?[\n]?[a-z]{0,2}") {
        check_fast_matches_general(line.as_bytes());
    }

    #[test]
    fn fast_path_decimals_round_like_the_general_path(line in "x:[-+]?[0-9]{0,12}(\\.[0-9]{0,10})?\\|(g|ms)") {
        check_fast_matches_general(line.as_bytes());
    }

    #[test]
    fn fast_path_long_digit_runs_match_the_general_path(line in "x:[-+]?[0-9]{0,24}(\\.[0-9]{0,24})?\\|(c|g|ms)(\\|@0\\.[0-9]{1,20})?\n?[0-9a-z:|]{0,3}") {
        check_fast_matches_general(line.as_bytes());
    }
}

#[test]
fn empty_tag_keys_are_found_at_their_entry() {
    assert_eq!(check_tags("a:b,,:v", b':'), Err(5));
    assert_eq!(check_tags(":x", b':'), Err(0));
    assert_eq!(check_tags("a,=b", b'='), Err(2));
    assert_eq!(check_tags("a:b,c,,x:=", b':'), Ok(()));
    assert_eq!(check_tags("", b':'), Ok(()));
    // A sep inside a value is not a key.
    assert_eq!(check_tags("k:v:w,k2::", b':'), Ok(()));
}

#[test]
fn fast_path_takes_plain_decimals() {
    for (l, v) in [
        (&b"a:12.5|ms"[..], 12.5),
        (b"a:-0.0|g", -0.0),
        (b"a:0.1|h", 0.1),
        (b"a:00.10|g", 0.1),
        (b"a:123456789.012345|g", 123_456_789.012_345),
        (b"a:1234567890.123456|g", 1_234_567_890.123_456),
    ] {
        let c = decode_common(l).unwrap();
        assert_eq!(
            c.value.as_f64().to_bits(),
            f64::to_bits(v),
            "{:?}",
            String::from_utf8_lossy(l)
        );
        check_fast_matches_general(l);
    }
}
