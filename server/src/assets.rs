//! The files the page needs, read once at start and served from memory. Only these paths exist:
//! there is no path from a URL to the file system.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A file served by the dashboard.
#[derive(Clone, Debug)]
pub struct Asset {
    /// The file's bytes.
    pub body: Vec<u8>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// URL path -> file.
pub type Files = HashMap<String, Asset>;

const INDEX_HTML: &str = include_str!("../../cli/dashboard/index.html");
const APP_JS: &str = include_str!("../../cli/dashboard/app.js");
const STYLE_CSS: &str = include_str!("../../cli/dashboard/style.css");

/// The wasm web build of this repository (`wasm/pkg/web`, made by `bash wasm/build.sh`).
pub fn default_wasm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm/pkg/web")
}

/// uPlot's distribution files (`cli/dashboard/node_modules/uplot/dist`, from `npm ci` in
/// `cli/dashboard`).
pub fn default_uplot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/dashboard/node_modules/uplot/dist")
}

fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        _ => return None,
    })
}

fn add(files: &mut Files, url: &str, body: Vec<u8>) {
    if let Some(content_type) = content_type(url) {
        files.insert(url.to_owned(), Asset { body, content_type });
    }
}

/// Every `.js` and `.wasm` file under `dir` (the wasm build has `snippets/…/*.js`), as
/// `(relative path with '/', contents)`.
fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let rel = if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        };
        let ty = entry.file_type()?;
        if ty.is_dir() && out.len() < 1000 {
            walk(&entry.path(), &rel, out)?;
        } else if ty.is_file() && (name.ends_with(".js") || name.ends_with(".wasm")) {
            out.push((rel, fs::read(entry.path())?));
        }
    }
    Ok(())
}

/// Load the page, the wasm web build (from `assets` or [`default_wasm_dir`]) and uPlot (from
/// `assets` when it holds `uPlot.esm.js`, else [`default_uplot_dir`]).
pub fn load(assets: Option<&Path>) -> io::Result<Files> {
    let mut files = Files::new();
    files.insert(
        "/".to_owned(),
        Asset {
            body: INDEX_HTML.as_bytes().to_vec(),
            content_type: "text/html; charset=utf-8",
        },
    );
    add(&mut files, "/index.html", INDEX_HTML.as_bytes().to_vec());
    add(&mut files, "/app.js", APP_JS.as_bytes().to_vec());
    add(&mut files, "/style.css", STYLE_CSS.as_bytes().to_vec());

    let wasm_dir = assets.map_or_else(default_wasm_dir, Path::to_path_buf);
    let missing = |what: &str, dir: &Path, fix: &str| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{what} not found in {}: run `{fix}` in the repository first (or pass --assets DIR)",
                dir.display()
            ),
        )
    };
    for needed in ["realm_metrics_wasm.js", "realm_metrics_wasm_bg.wasm"] {
        if !wasm_dir.join(needed).is_file() {
            return Err(missing(
                &format!("the wasm web build ({needed})"),
                &wasm_dir,
                "bash wasm/build.sh",
            ));
        }
    }
    let mut wasm = Vec::new();
    walk(&wasm_dir, "", &mut wasm)?;
    for (rel, body) in wasm {
        add(&mut files, &format!("/wasm/{rel}"), body);
    }

    let uplot_dir = match assets {
        Some(a) if a.join("uPlot.esm.js").is_file() => a.to_path_buf(),
        _ => default_uplot_dir(),
    };
    for (name, fix) in [
        ("uPlot.esm.js", "npm ci --prefix cli/dashboard"),
        ("uPlot.min.css", "npm ci --prefix cli/dashboard"),
    ] {
        let body = fs::read(uplot_dir.join(name))
            .map_err(|_| missing(&format!("uPlot ({name})"), &uplot_dir, fix))?;
        add(&mut files, &format!("/uplot/{name}"), body);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("/a.wasm"), Some("application/wasm"));
        assert_eq!(
            content_type("/wasm/x.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type("/style.css"), Some("text/css; charset=utf-8"));
        assert_eq!(content_type("/x.ts"), None);
    }

    #[test]
    fn missing_build_says_what_to_run() {
        let dir = std::env::temp_dir().join(format!("rm-dash-empty-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let e = load(Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("bash wasm/build.sh"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
