//! Writes (or, with `--check`, compares) every generated file, after rust-analyzer's
//! `ensure_file_contents`: a stale file fails CI with its name and the command that fixes it.

use std::path::{Path, PathBuf};

use crate::render;

pub fn run(check: bool) -> Result<(), String> {
    let root = workspace_root();
    let mut stale = Vec::new();
    for t in crate::surfaces() {
        let files = render::all(t.contract, t.prefix, t.runtime);
        if let Err(e) = sync(&root, &root.join(t.dir), &files, check) {
            stale.push(e);
        }
        if let Some(dir) = t.python
            && let Err(e) = sync(
                &root,
                &root.join(dir),
                &render::python(t.contract, t.prefix),
                check,
            )
        {
            stale.push(e);
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(stale.join("\n"))
    }
}

/// Makes `dir` hold exactly `files`; with `check`, only reports what differs.
fn sync(root: &Path, dir: &Path, files: &[(String, String)], check: bool) -> Result<(), String> {
    let mut stale = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(contents.as_str()) {
            continue;
        }
        if check {
            stale.push(format!("  {} differs", rel(root, &path)));
        } else {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {}", rel(root, &path));
        }
    }
    for path in leftovers(dir, files) {
        if check {
            stale.push(format!("  {} is not generated any more", rel(root, &path)));
        } else {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("removed {}", rel(root, &path));
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

pub fn workspace_root() -> PathBuf {
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

#[cfg(test)]
mod tests {
    use super::*;

    const RUNTIME: &str = "../runtime/index.js";

    fn agent_os() -> agentos_core::runtime::Contract {
        crate::surfaces()[0].contract.clone()
    }

    fn committed() -> (PathBuf, PathBuf) {
        let root = workspace_root();
        let dir = root.join(crate::surfaces()[0].dir);
        (root, dir)
    }

    fn stale_files(contract: &agentos_core::runtime::Contract) -> String {
        let (root, dir) = committed();
        sync(
            &root,
            &dir,
            &render::all(contract, "AgentOs", RUNTIME),
            true,
        )
        .unwrap_err()
    }

    #[test]
    fn rendering_from_scratch_reproduces_the_committed_files() {
        let (root, dir) = committed();
        let files = render::all(&agent_os(), "AgentOs", RUNTIME);
        assert_eq!(
            files,
            render::all(&agent_os(), "AgentOs", RUNTIME),
            "rendering is deterministic"
        );
        sync(&root, &dir, &files, true).expect("committed files are current");
        let scratch = std::env::temp_dir().join(format!("xtask-codegen-{}", std::process::id()));
        sync(&root, &scratch, &files, false).unwrap();
        for (name, contents) in &files {
            assert_eq!(
                &std::fs::read_to_string(scratch.join(name)).unwrap(),
                contents
            );
            assert_eq!(
                &std::fs::read_to_string(dir.join(name)).unwrap(),
                contents,
                "{name}"
            );
        }
        std::fs::write(scratch.join("stray.ts"), "").unwrap();
        let err = sync(&root, &scratch, &files, true).unwrap_err();
        assert!(err.contains("stray.ts is not generated any more"), "{err}");
        std::fs::remove_dir_all(scratch).unwrap();
    }

    #[test]
    fn an_edited_doc_comment_makes_the_check_fail() {
        let mut contract = agent_os();
        contract.actions[0].docs.push_str(" Edited.");
        let err = stale_files(&contract);
        assert!(
            err.contains("bindings/src/generated/client.ts differs"),
            "{err}"
        );
        assert!(err.contains("contract.json differs"), "{err}");
        assert!(
            !err.contains("contract.ts differs"),
            "docs do not change the hash: {err}"
        );
        assert!(err.contains("run `cargo xtask codegen`"), "{err}");
    }

    #[test]
    fn an_edited_dto_field_makes_the_check_fail_and_changes_the_hash() {
        let mut contract = agent_os();
        let decl = &mut contract
            .types
            .get_mut("MountInfo")
            .expect("MountInfo is declared")
            .decl;
        *decl = decl.replace("readOnly: boolean", "readOnly: boolean, extra: string");
        let rehashed = contract.sealed();
        assert_ne!(rehashed.hash, agent_os().hash);
        let err = stale_files(&rehashed);
        assert!(err.contains("types.ts differs"), "{err}");
        assert!(err.contains("contract.ts differs"), "{err}");
    }
}
