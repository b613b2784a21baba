//! Which files of the wasm web build the page needs: shared by the build script (which embeds
//! them) and by `--assets DIR` (which reads them at start).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Every `.js` and `.wasm` file under `dir` (the wasm build has `snippets/…/*.js`), as
/// `(relative path with '/', absolute path)`, sorted. More than `max` entries is an error.
pub fn wasm_files(dir: &Path, max: usize) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    walk(dir, "", max, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, rel: &str, max: usize, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
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
        if out.len() >= max {
            return Err(io::Error::other(format!("more than {max} files")));
        }
        if ty.is_dir() {
            walk(&entry.path(), &rel, max, out)?;
        } else if ty.is_file() && (name.ends_with(".js") || name.ends_with(".wasm")) {
            out.push((rel, entry.path()));
        }
    }
    Ok(())
}
