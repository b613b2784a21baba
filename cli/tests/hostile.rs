//! Hostile input found by an attack run: each test names its finding (`item_N_...`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_realm-metrics");

/// Run `realm-metrics args` under `/usr/bin/time -v` with `stdin`; stdout is kept only when
/// `keep_stdout`. Returns the output and the peak RSS in KiB.
fn run_measured(args: &[&str], stdin: Vec<u8>, keep_stdout: bool) -> (Output, u64) {
    let mut child = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(if keep_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/time");
    let mut sin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let kib = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .unwrap_or_else(|| panic!("no RSS in {err}"))
        .trim()
        .parse()
        .unwrap();
    (out, kib)
}

fn decode(input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    w.join().unwrap();
    out
}

/// One line of `values` packed values with `tags` DogStatsD tags.
fn packed_line(values: usize, tags: usize) -> Vec<u8> {
    let mut s = String::from("k");
    for _ in 0..values {
        s.push_str(":1");
    }
    s.push_str("|c|#");
    let t: Vec<String> = (1..=tags).map(|i| format!("t{i}")).collect();
    s.push_str(&t.join(","));
    s.push('\n');
    s.into_bytes()
}

#[test]
fn item_1_decode_memory_is_bounded_by_input_and_one_value() {
    // 2,000 values × 1,000 tags: before the fix every object of the line was built first
    // (about 310 MB; 3.76 GB at 20,000 values); now each value is written as it is decoded.
    let input = packed_line(2_000, 1_000);
    let (out, kib) = run_measured(&["decode"], input, false);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
}

#[test]
fn item_9_over_long_line_is_one_error_and_decoding_resumes() {
    let mut input = vec![b'x'; 1 << 24];
    input.extend_from_slice(b"realm.evil.connection.started:1|c\nrealm.h.connection.online:1|g\n");
    let out = decode(&input);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(
        stdout.lines().next().unwrap(),
        r#"{"line":1,"column":1,"error":"line longer than 16777216 bytes"}"#
    );
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["host"], "h");
    assert!(!stdout.contains("evil"));
    assert_eq!(out.status.code(), Some(1));

    // Exactly 16 MiB (without the newline) is still a line.
    let mut input = vec![b'x'; 1 << 24];
    input.extend_from_slice(b"\nrealm.h.connection.online:1|g");
    let out = decode(&input);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(!stdout.contains("longer than"), "{stdout}");

    // A CR before the LF is not counted (as in the wasm decoder); one byte more is.
    for (extra, eol, too_long) in [(0, "\r\n", false), (1, "\n", true), (1, "\r\n", true)] {
        let mut input = vec![b'x'; (1 << 24) + extra];
        input.extend_from_slice(eol.as_bytes());
        input.extend_from_slice(b"realm.h.connection.online:1|g\n");
        let out = decode(&input);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{extra} {eol:?}: {stdout}");
        assert_eq!(lines[0].contains("longer than"), too_long, "{stdout}");
        assert!(lines[1].starts_with(r#"{"line":2,"name":"realm.h.connection.online""#));
    }
}

#[test]
fn item_9_skipping_an_over_long_line_keeps_memory_bounded() {
    let mut input = vec![b'x'; 96 << 20];
    input.extend_from_slice(b"\nrealm.h.connection.online:1|g\n");
    let (out, kib) = run_measured(&["decode"], input, true);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.lines().nth(1).unwrap().contains(r#""line":2"#));
    assert_eq!(out.status.code(), Some(1));
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
}
