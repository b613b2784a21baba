//! Command-line option helpers shared by every `realm-metrics` command.

use std::net::{SocketAddr, ToSocketAddrs};

/// Take `--name value` or `--name=value` from `args`.
pub fn take_opt(args: &mut Vec<String>, name: &str) -> Result<Option<String>, String> {
    let eq = format!("{name}=");
    if let Some(i) = args.iter().position(|a| a == name || a.starts_with(&eq)) {
        let a = args.remove(i);
        if let Some(v) = a.strip_prefix(&eq) {
            return Ok(Some(v.to_owned()));
        }
        if i < args.len() {
            return Ok(Some(args.remove(i)));
        }
        return Err(format!("{name} needs a value"));
    }
    Ok(None)
}

/// Take a boolean `--name` flag from `args`.
pub fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    match args.iter().position(|a| a == name) {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    }
}

/// Fail on any argument left over.
pub fn no_more_args(args: &[String]) -> Result<(), String> {
    match args.first() {
        Some(a) => Err(format!("unexpected argument {a:?}")),
        None => Ok(()),
    }
}

/// Resolve `HOST:PORT` (the first address wins).
pub fn socket_addr(opt: &str, value: &str) -> Result<SocketAddr, String> {
    value
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("{opt}: {value:?} is not a HOST:PORT address"))
}
