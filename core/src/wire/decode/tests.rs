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

    /// Long names, bucket tags and `|#` tags (the word-at-a-time and vector scans run only past
    /// 8 and 16 bytes), with a stop byte, a control byte, DEL or a non-ASCII byte anywhere.
    #[test]
    fn fast_path_agrees_on_long_names_and_tags(
        name in proptest::collection::vec(prop_oneof![
            40 => b'a'..=b'z', 1 => Just(b':'), 1 => Just(b','), 1 => Just(b'|'), 1 => Just(b'='),
            1 => Just(0x7fu8), 1 => 0u8..0x20, 1 => 0x80u8..=0xff], 0..48),
        bucket in proptest::option::of("[a-z]{1,20}=[a-z0-9.-]{1,20}(,[a-z]{1,8}=[a-z]{1,8})?"),
        dog in proptest::collection::vec(prop_oneof![
            30 => b'a'..=b'z', 3 => Just(b':'), 3 => Just(b','), 1 => Just(b'|'),
            1 => Just(0x7fu8), 1 => 0u8..0x20, 1 => 0x80u8..=0xff], 0..40),
        ty in "(c|g|ms|h|d)",
        tail in "(\n[a-z]{0,3})?",
    ) {
        let mut line = name;
        if let Some(b) = bucket {
            line.push(b',');
            line.extend_from_slice(b.as_bytes());
        }
        line.extend_from_slice(b":12|");
        line.extend_from_slice(ty.as_bytes());
        if !dog.is_empty() {
            line.extend_from_slice(b"|#");
            line.extend_from_slice(&dog);
        }
        line.extend_from_slice(tail.as_bytes());
        check_fast_matches_general(&line);
    }

    /// The vectorisable tag check finds exactly what a byte-by-byte look finds.
    #[test]
    fn check_tags_matches_a_byte_loop(tags in "[a-z:=,]{0,40}", colon in any::<bool>()) {
        let sep = if colon { b':' } else { b'=' };
        let b = tags.as_bytes();
        let want = (0..b.len())
            .find(|&i| b[i] == sep && (i == 0 || b[i - 1] == b','))
            .map_or(Ok(()), Err);
        prop_assert_eq!(check_tags(&tags, sep), want);
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

fn metric(line: &[u8]) -> MetricLine<'_> {
    match decode_line(line, 1) {
        Ok(Record::Metric(l)) => l,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
    }
}

fn error(line: &[u8]) -> DecodeError {
    match decode_line(line, 1) {
        Err(e) => e,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
    }
}

#[test]
fn a_set_member_keeps_its_colons() {
    let l = metric(b"daemon:abc:def|s");
    let s: Vec<_> = l.samples().map(|s| s.value).collect();
    assert_eq!(s, [SampleValue::Set("abc:def")]);
    assert!(!l.is_multi());
    // Segments still split after the type.
    let l = metric(b"u:1:2|s:3|s|#k:v");
    let s: Vec<_> = l.samples().map(|s| s.value).collect();
    assert_eq!(s, [SampleValue::Set("1:2"), SampleValue::Set("3")]);
}

#[test]
fn an_empty_field_ends_at_a_colon() {
    let l = metric(b"a:0|ms|@0.1:0|ms|:1|ms");
    let s: Vec<_> = l
        .samples()
        .map(|s| (s.value, s.sample_rate, s.extensions().count()))
        .collect();
    assert_eq!(
        s,
        [
            (SampleValue::Number(Number::UInt(0)), Some(0.1), 0),
            (SampleValue::Number(Number::UInt(0)), None, 0),
            (SampleValue::Number(Number::UInt(1)), None, 0),
        ]
    );
    // An unknown field still runs to the next '|'.
    let l = metric(b"a:1|c|x:2|c");
    assert_eq!(l.samples().count(), 1);
    assert_eq!(l.first().extensions().collect::<Vec<_>>(), ["x:2", "c"]);
}

#[test]
fn every_t_field_is_a_timestamp() {
    for line in [&b"a:1|c|Tabc"[..], b"a:1|c|T12x", b"a:1|c|T", b"a:1|c|T-5"] {
        let e = error(line);
        assert_eq!(
            (e.kind, e.column),
            (DecodeErrorKind::InvalidTimestamp, 8),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
    assert_eq!(metric(b"a:1|c|T17").first().timestamp, Some(17));
    // A timestamp ends at a ':', which starts the next segment.
    assert_eq!(metric(b"a:1|c|T1:2|c").samples().count(), 2);
}

#[test]
fn a_bucket_tag_without_equals_is_dropped() {
    // An empty key is still an error; a key without '=' is dropped.
    let e = error(b"a,env=prod,canary,=x:1|c");
    assert_eq!(e.kind, DecodeErrorKind::InvalidTag);
    let l = metric(b"a,env=prod,canary:1|c|#bare");
    let tags: Vec<_> = l.first().tags().iter().collect();
    assert_eq!(tags, [("env", Some("prod")), ("bare", None)]);
    let l = metric(b"a,canary:1|c");
    assert!(l.first().tags().is_empty());
}

#[test]
fn event_fields_unknown_or_malformed_are_ignored() {
    let Ok(Record::Event(e)) = decode_line(b"_e{5,4}:title|text|d:abc|x:y||p:low|d:17", 1) else {
        panic!("not an event");
    };
    assert_eq!(
        (e.title, e.text, e.priority, e.timestamp),
        ("title", "text", Some("low"), Some(17))
    );
    assert_eq!(e.extensions().collect::<Vec<_>>(), ["x:y"]);
    // An empty title is an error at its length; an empty text is not.
    let err = error(b"_e{0,4}:|text");
    assert_eq!((err.kind, err.column), (DecodeErrorKind::InvalidEvent, 4));
    assert!(matches!(decode_line(b"_e{5,0}:title|", 1), Ok(Record::Event(e)) if e.text.is_empty()));
    // A tag with an empty key is still an error.
    assert_eq!(
        error(b"_e{1,1}:a|b|#:v").kind,
        DecodeErrorKind::InvalidEvent
    );
}

#[test]
fn service_check_fields_unknown_or_malformed_are_ignored() {
    let Ok(Record::ServiceCheck(s)) = decode_line(b"_sc|agent.up|0|u:x|d:abc||h:h1|m:a|b", 1)
    else {
        panic!("not a service check");
    };
    assert_eq!(
        (s.status, s.timestamp, s.hostname, s.message),
        (0, None, Some("h1"), Some("a|b"))
    );
    assert_eq!(s.extensions().collect::<Vec<_>>(), ["u:x"]);
    assert_eq!(
        error(b"_sc|c|0|#:v").kind,
        DecodeErrorKind::InvalidServiceCheck
    );
}

#[test]
fn signs_and_negative_timers_are_plain_values() {
    for (line, v) in [
        (&b"a:+1|c"[..], Number::UInt(1)),
        (b"a:-1|c", Number::Int(-1)),
        (b"a:+1|ms", Number::UInt(1)),
        (b"a:-5|ms", Number::Int(-5)),
    ] {
        let s = metric(line).first();
        assert_eq!((s.value, s.delta), (SampleValue::Number(v), false));
    }
    assert!(metric(b"a:+1|g").first().delta);
}
