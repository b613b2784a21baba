//! The command line as users meet it: `--help` on every subcommand (found in clap's command
//! tree, so new ones are covered), `--version`, suggestions for misspellings, the environment
//! variables, and shell completions.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use realm_metrics_cli::command::Cli;
use support::{TempDir, BIN};

/// The binary, without the REALM_METRICS_* variables of the environment the tests run in.
fn bin() -> Command {
    let mut c = Command::new(BIN);
    for v in [
        "REALM_METRICS_LISTEN",
        "REALM_METRICS_HTTP",
        "REALM_METRICS_DATA",
    ] {
        c.env_remove(v);
    }
    c
}

/// Run the binary with `args`, no REALM_METRICS_* variables unless `env` sets them.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    bin()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every subcommand path (`["alerts", "check"]`, …) of the command tree.
fn subcommand_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands() {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        out.push(path.clone());
        subcommand_paths(sub, &path, out);
    }
}

#[test]
fn every_subcommand_has_help() {
    let mut paths = Vec::new();
    subcommand_paths(&Cli::command(), &[], &mut paths);
    assert!(paths.len() >= 11, "{paths:?}");

    // The top-level help lists exactly the tree's commands (and `help`).
    let top = run(&["--help"]);
    assert_eq!(top.status.code(), Some(0));
    let top = text(&top.stdout);
    let listed: Vec<&str> = top
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut want: Vec<&str> = paths
        .iter()
        .filter(|p| p.len() == 1)
        .map(|p| p[0].as_str())
        .collect();
    want.push("help");
    assert_eq!(listed, want);

    for path in &paths {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for help in ["--help", "-h"] {
            let out = run(&[&args[..], &[help]].concat());
            let stdout = text(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?} {help}: {}",
                text(&out.stderr)
            );
            assert!(
                stdout.contains(&format!("Usage: realm-metrics {}", args.join(" "))),
                "{args:?} {help}: {stdout}"
            );
            assert!(stdout.len() > 80, "{args:?} {help}: {stdout}");
        }
        // `help <command>` says the same as `<command> --help`.
        let via_help = run(&[&["help"][..], &args].concat());
        assert_eq!(via_help.status.code(), Some(0), "help {args:?}");
        assert_eq!(
            via_help.stdout,
            run(&[&args[..], &["--help"]].concat()).stdout
        );
    }
    assert_eq!(run(&["help"]).status.code(), Some(0));
    // No command: the help, as a usage error.
    let none = run(&[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none.stderr).contains("Usage: realm-metrics <COMMAND>"));
}

#[test]
fn version_is_the_workspace_version() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    let version = manifest["workspace"]["package"]["version"]
        .as_str()
        .unwrap();
    for flag in ["--version", "-V"] {
        let out = run(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(text(&out.stdout), format!("realm-metrics {version}\n"));
    }
}

#[test]
fn misspellings_exit_2_with_a_suggestion() {
    for (args, suggestion) in [
        (&["dashbord"][..], "'dashboard'"),
        (&["telegraf-confg"], "'telegraf-config'"),
        (&["alerts", "chek", "x"], "'check'"),
        (&["dashboard", "--liste", "127.0.0.1:0"], "'--listen'"),
        (&["catalog", "--format", "markdwn"], "'markdown'"),
    ] {
        let out = run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            err.contains("similar") || err.contains("did you mean"),
            "{args:?}: {err}"
        );
        assert!(err.contains(suggestion), "{args:?}: {err}");
    }
    // A bad value names the option and says what is wrong.
    let out = run(&["dashboard", "--max-disk", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--max-disk") && err.contains("500M"), "{err}");
}

/// Start `dashboard` with `args` and `env`; wait for its banner; return the child and the page
/// and StatsD addresses.
fn start_dashboard(args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String, String) {
    let mut child = bin()
        .arg("dashboard")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut http, mut udp) = (None, None);
    while http.is_none() || udp.is_none() {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            panic!("dashboard exited early: {status}");
        }
        if let Some(u) = line.trim().strip_prefix("dashboard: http://") {
            http = Some(u.trim_end_matches('/').to_owned());
        }
        if let Some(u) = line.trim().strip_prefix("statsd listener: udp://") {
            udp = Some(u.to_owned());
        }
    }
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, http.unwrap(), udp.unwrap())
}

fn interrupt(mut child: std::process::Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "dashboard exit: {status}");
}

#[test]
fn environment_variables_give_the_addresses_and_the_data_directory() {
    let dir = TempDir::new("env");
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let env = [
        ("REALM_METRICS_LISTEN", "127.0.0.1:0"),
        ("REALM_METRICS_HTTP", "127.0.0.1:0"),
        ("REALM_METRICS_DATA", data_s),
    ];
    // No options: everything from the environment (the defaults, ports 8125 and 8080, would be
    // taken or fixed; port 0 is a free one).
    let (child, http, udp) = start_dashboard(&[], &env);
    assert!(
        !http.ends_with(":8080") && !udp.ends_with(":8125"),
        "{http} {udp}"
    );
    assert!(
        data.join("metrics.db").is_file(),
        "no store in REALM_METRICS_DATA"
    );
    let (status, body) = support::http_get(&http, "/");
    assert_eq!(status, 200);
    assert!(
        body.contains("<html") || body.contains("<!doctype"),
        "{body}"
    );
    // A value that reaches the store, for `query` below.
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        tx.send_to(b"realm.env-host.connection.online:7|g", &udp)
            .unwrap();
        let (_, series) = support::http_get(&http, "/api/v1/series");
        if series.contains("env-host") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the value never reached the store: {series}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    interrupt(child);

    // `query --data` from REALM_METRICS_DATA.
    let out = run_env(&["query", "--series"], &[("REALM_METRICS_DATA", data_s)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("env-host"),
        "{}",
        text(&out.stdout)
    );
    // The option beats the variable.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run_env(
        &["query", "--series", "--data", empty.to_str().unwrap()],
        &[("REALM_METRICS_DATA", data_s)],
    );
    assert_eq!(out.status.code(), Some(1), "no store in --data");
    assert!(!text(&out.stdout).contains("env-host"));

    // Options beat the variables: these would not start.
    let bad = [
        ("REALM_METRICS_LISTEN", "not-an-address"),
        ("REALM_METRICS_HTTP", "not-an-address"),
        ("REALM_METRICS_DATA", data_s),
    ];
    let other = dir.path().join("other");
    let (child, _, _) = start_dashboard(
        &[
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data",
            other.to_str().unwrap(),
        ],
        &bad,
    );
    interrupt(child);
    assert!(
        other.join("metrics.db").is_file(),
        "--data did not beat REALM_METRICS_DATA"
    );
    // A bad variable is a usage error that names it.
    let out = run_env(&["dashboard"], &[("REALM_METRICS_HTTP", "not-an-address")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--http"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn completions_for_every_shell() {
    let dir = TempDir::new("completions");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for word in ["realm-metrics", "dashboard", "telegraf-config", "listen"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let out = run(&["completions", "bash"]);
    let file = dir.path().join("realm-metrics.bash");
    std::fs::write(&file, &out.stdout).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(syntax.status.success(), "bash -n: {}", text(&syntax.stderr));
    let registered = Command::new("bash")
        .arg("-c")
        .arg(r#"source "$1" && complete -p realm-metrics"#)
        .arg("bash")
        .arg(&file)
        .output()
        .unwrap();
    assert!(registered.status.success(), "{}", text(&registered.stderr));
    assert!(
        text(&registered.stdout).contains("realm-metrics"),
        "{}",
        text(&registered.stdout)
    );
    // The completion function answers: the subcommands after `realm-metrics `.
    let words = Command::new("bash")
        .arg("-c")
        .arg(
            r#"source "$1"
               COMP_WORDS=(realm-metrics da); COMP_CWORD=1; COMP_LINE="realm-metrics da"; COMP_POINT=${#COMP_LINE}
               f=$(complete -p realm-metrics | sed -n 's/.*-F \([^ ]*\).*/\1/p')
               "$f" realm-metrics da realm-metrics
               printf '%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("bash")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        text(&words.stdout).lines().any(|l| l == "dashboard"),
        "{} {}",
        text(&words.stdout),
        text(&words.stderr)
    );
    // An unknown shell: a usage error listing the shells.
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("powershell"));
}
