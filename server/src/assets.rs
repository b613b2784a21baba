//! The files the page needs, served from memory: the page, the wasm web build and uPlot are
//! embedded in the binary at build time (`build.rs`), so that it serves the full dashboard from
//! any directory. Only these paths exist: there is no path from a URL to the file system.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

/// A file served by the dashboard.
#[derive(Clone, Debug)]
pub struct Asset {
    /// The file's bytes.
    pub body: Vec<u8>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// The most files read from an `--assets` directory (the wasm build has three or four).
const MAX_ASSET_FILES: usize = 1000;

/// URL path -> file.
pub type Files = HashMap<String, Asset>;

const INDEX_HTML: &str = include_str!("../../cli/dashboard/index.html");
const APP_JS: &str = include_str!("../../cli/dashboard/app.js");
const STYLE_CSS: &str = include_str!("../../cli/dashboard/style.css");

/// `WASM`: the wasm web build (`wasm/pkg/web`, every `.js` and `.wasm` file); `UPLOT`: uPlot's
/// `uPlot.esm.js` and `uPlot.min.css`. Each as `(path relative to its directory, bytes)`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
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

/// The page, the wasm web build and uPlot. With `assets`, the wasm web build is read from that
/// directory instead of the embedded one (it must hold it), and uPlot too when it holds
/// `uPlot.esm.js`.
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

    let Some(dir) = assets else {
        for (rel, body) in embedded::WASM {
            add(&mut files, &format!("/wasm/{rel}"), body.to_vec());
        }
        for (rel, body) in embedded::UPLOT {
            add(&mut files, &format!("/uplot/{rel}"), body.to_vec());
        }
        return Ok(files);
    };

    let missing = |what: &str, fix: &str| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "--assets: {what} not found in {}: run `{fix}` in the repository and pass its \
                 wasm/pkg/web (or leave out --assets for the build embedded in this binary)",
                dir.display()
            ),
        )
    };
    for needed in ["realm_metrics_wasm.js", "realm_metrics_wasm_bg.wasm"] {
        if !dir.join(needed).is_file() {
            return Err(missing(
                &format!("the wasm web build ({needed})"),
                "bash wasm/build.sh",
            ));
        }
    }
    for (rel, path) in crate::asset_files::wasm_files(dir, MAX_ASSET_FILES)? {
        add(&mut files, &format!("/wasm/{rel}"), fs::read(path)?);
    }
    if dir.join("uPlot.esm.js").is_file() {
        for name in ["uPlot.esm.js", "uPlot.min.css"] {
            let body = fs::read(dir.join(name)).map_err(|_| {
                missing(&format!("uPlot ({name})"), "npm ci --prefix cli/dashboard")
            })?;
            add(&mut files, &format!("/uplot/{name}"), body);
        }
    } else {
        for (rel, body) in embedded::UPLOT {
            add(&mut files, &format!("/uplot/{rel}"), body.to_vec());
        }
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
    fn the_build_is_embedded() {
        let files = load(None).unwrap();
        for (path, ty) in [
            ("/", "text/html; charset=utf-8"),
            ("/app.js", "text/javascript; charset=utf-8"),
            ("/style.css", "text/css; charset=utf-8"),
            (
                "/wasm/realm_metrics_wasm.js",
                "text/javascript; charset=utf-8",
            ),
            ("/wasm/realm_metrics_wasm_bg.wasm", "application/wasm"),
            ("/uplot/uPlot.esm.js", "text/javascript; charset=utf-8"),
            ("/uplot/uPlot.min.css", "text/css; charset=utf-8"),
        ] {
            let a = files
                .get(path)
                .unwrap_or_else(|| panic!("{path} is not served"));
            assert_eq!(a.content_type, ty, "{path}");
        }
        assert!(files["/wasm/realm_metrics_wasm_bg.wasm"]
            .body
            .starts_with(b"\0asm"));
        assert!(embedded::WASM
            .iter()
            .all(|(rel, _)| !rel.starts_with('/') && !rel.contains("..")));
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
