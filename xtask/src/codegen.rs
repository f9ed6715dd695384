//! Writes (or, with `--check`, compares) every generated file, after rust-analyzer's
//! `ensure_file_contents`: a stale file fails CI with its name and the command that fixes it.

use std::path::{Path, PathBuf};

use crate::render;

const GENERATED_DIR: &str = "bindings/src/generated";

pub fn run(check: bool) -> Result<(), String> {
    let root = workspace_root();
    let dir = root.join(GENERATED_DIR);
    let mut files = Vec::new();
    for (contract, prefix) in crate::surfaces() {
        files.extend(render::all(contract, prefix));
    }
    let mut stale = Vec::new();
    for (name, contents) in &files {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(contents.as_str()) {
            continue;
        }
        if check {
            stale.push(format!("  {} differs", rel(&root, &path)));
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {}", rel(&root, &path));
        }
    }
    for path in leftovers(&dir, &files) {
        if check {
            stale.push(format!("  {} is not generated any more", rel(&root, &path)));
        } else {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("removed {}", rel(&root, &path));
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    Err(format!(
        "generated files are out of date:\n{}\nrun `cargo xtask codegen` and commit the result",
        stale.join("\n")
    ))
}

fn leftovers(dir: &Path, files: &[(String, String)]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut extra: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !files.iter().any(|(f, _)| f == name)
        })
        .collect();
    extra.sort();
    extra
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
