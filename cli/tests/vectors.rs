//! The shared decode vectors (`tests/vectors/decode*.json`) through the decoder's JSON form, and
//! through the real `realm-metrics decode` binary.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value as J;

fn load(file: &str) -> Vec<J> {
    let path = format!("{}/../tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Vec<J>>(&text).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A case: name, prefix, input bytes, expected objects.
type Case = (String, Option<String>, Vec<u8>, Vec<J>);

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for c in load("decode.json")
        .into_iter()
        .chain(load("decode_bytes.json"))
    {
        let input = match (c.get("input"), c.get("input_hex")) {
            (Some(J::String(s)), _) => s.as_bytes().to_vec(),
            (_, Some(J::String(h))) => hex(h),
            _ => panic!("case without input: {c}"),
        };
        out.push((
            c["name"].as_str().unwrap().to_owned(),
            c["prefix"].as_str().map(str::to_owned),
            input,
            c["expect"].as_array().unwrap().clone(),
        ));
    }
    out
}

/// Vector equality: numbers by value; error objects on line and column, with a non-empty message.
fn same(got: &J, want: &J) -> bool {
    match (got, want) {
        (J::Number(a), J::Number(b)) => match (a.as_u64(), b.as_u64(), a.as_i64(), b.as_i64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        (J::Object(g), J::Object(w)) if w.contains_key("error") => {
            g.get("line") == w.get("line")
                && g.get("column") == w.get("column")
                && g.get("error")
                    .and_then(J::as_str)
                    .is_some_and(|m| !m.is_empty())
                && g.len() == 3
        }
        (J::Object(g), J::Object(w)) => {
            g.len() == w.len()
                && w.iter()
                    .all(|(k, v)| g.get(k).is_some_and(|gv| same(gv, v)))
        }
        (J::Array(g), J::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same(a, b))
        }
        _ => got == want,
    }
}

#[test]
fn decode_vectors_through_the_library() {
    let cases = cases();
    assert!(cases.len() >= 60);
    let mut failures = Vec::new();
    for (name, prefix, input, want) in &cases {
        let mut text = Vec::new();
        let malformed =
            realm_metrics_cli::json::write_decoded(&mut text, input, prefix.as_deref(), 0).unwrap();
        let got: Vec<J> = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let want_malformed = want.iter().any(|o| o.get("error").is_some());
        if !same(&J::Array(got.clone()), &J::Array(want.clone())) || malformed != want_malformed {
            failures.push(format!(
                "{name}:\n  got  {}\n  want {}",
                J::Array(got),
                J::Array(want.clone())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn decode_vectors_through_the_binary() {
    for (name, prefix, input, want) in cases() {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_realm-metrics"));
        cmd.arg("decode");
        if let Some(p) = &prefix {
            cmd.args(["--prefix", p]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        let got: Vec<J> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            same(&J::Array(got.clone()), &J::Array(want.clone())),
            "{name}: got {got:?}"
        );
        let malformed = want.iter().any(|o| o.get("error").is_some());
        assert_eq!(
            out.status.code(),
            Some(if malformed { 1 } else { 0 }),
            "{name}"
        );
    }
}
