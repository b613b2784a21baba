//! The `realm-metrics` command's contract: catalog output, decode exit codes, README embedding.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_realm-metrics"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

const REFERENCE: &[(&str, &str)] = &[
    ("client.unsyncable", "counter"),
    ("session.started", "counter"),
    ("session.online", "gauge"),
    ("session.failed", "counter"),
    ("session.terminated", "counter"),
    ("connection.started", "counter"),
    ("connection.online", "gauge"),
    ("connection.failed", "counter"),
    ("connection.terminated", "counter"),
    ("realms.open", "gauge"),
    ("authentication.failed", "counter"),
    ("permission.denied", "counter"),
    ("protocol.<version>.used", "counter"),
    ("protocol.violated", "counter"),
    ("protocol.bytes.received", "counter"),
    ("protocol.bytes.sent", "counter"),
    ("protocol.bytes.received", "gauge"),
    ("protocol.bytes.sent", "gauge"),
];

#[test]
fn catalog_json_lists_the_reference_rows_in_order() {
    let out = run(&["catalog", "--format", "json"], b"");
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 18);
    for (row, (name, kind)) in rows.iter().zip(REFERENCE) {
        assert_eq!(row["name"], *name);
        assert_eq!(row["kind"], *kind);
        let group = name.split('.').next().unwrap();
        assert_eq!(row["group"], group);
        assert!(row["description"].as_str().unwrap().len() > 20);
        assert_eq!(row.as_object().unwrap().len(), 4);
    }
}

#[test]
fn decode_prints_values_and_errors_and_exits_1() {
    let out = run(
        &["decode"],
        b"realm.example.com.connection.online:3|g\nbad line\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"line": 1, "name": "realm.example.com.connection.online", "type": "g",
            "value": 3, "delta": false, "sample_rate": null, "tags": {}, "timestamp": null,
            "metric": "connection.online", "host": "example.com", "version": null})
    );
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["column"], 9);
    assert!(lines[1]["error"].as_str().unwrap().contains("':'"));
    assert_eq!(lines.len(), 2);
}

#[test]
fn decode_exit_codes_and_prefix() {
    let out = run(&["decode"], b"a:1|c\r\n\n");
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["decode", "--prefix", "svc.a"], b"svc.a.realms.open:2|g\n");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metric"], "realms.open");
    assert_eq!(v["host"], serde_json::Value::Null);
    assert_eq!(run(&["decode", "--bogus"], b"").status.code(), Some(2));
    assert_eq!(run(&["decode", "--prefix"], b"").status.code(), Some(2));
    assert_eq!(run(&["nope"], b"").status.code(), Some(2));
    assert_eq!(
        run(&["catalog", "--format", "xml"], b"").status.code(),
        Some(2)
    );
}

#[test]
fn decode_streams_line_numbers_across_reads() {
    let mut input = Vec::new();
    for i in 0..10_000 {
        input.extend_from_slice(format!("m{i}:{i}|c\n").as_bytes());
    }
    input.extend_from_slice(b"oops\n");
    let out = run(&["decode"], &input);
    assert_eq!(out.status.code(), Some(1));
    let last: serde_json::Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["line"], 10_001);
}

#[test]
fn readme_embeds_the_catalog_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme
        .find("<!-- catalog:start -->\n")
        .expect("start marker")
        + "<!-- catalog:start -->\n".len();
    let end = readme.find("<!-- catalog:end -->").expect("end marker");
    let out = run(&["catalog", "--format", "markdown"], b"");
    assert_eq!(
        &readme[start..end],
        String::from_utf8(out.stdout).unwrap(),
        "README catalog table drifted: regenerate it with `realm-metrics catalog --format markdown`"
    );
}
