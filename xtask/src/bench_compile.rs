//! `cargo xtask bench-compile [--runs N]`: how `#[surface]`'s generated code scales with the
//! number of actions. Generates, in a temp dir, two crates that depend only on
//! `agentos-macros` and `agentos-runtime` (this workspace's, by path), each one `#[surface]`
//! of 250 or 500 actions of varied shapes; builds their dependencies once, then times a
//! non-incremental `cargo check` of each crate alone (its source touched before every run,
//! the two sizes alternating) and prints the medians and their ratio. Linear code generation
//! gives a ratio near 2; one function whose size grows with the surface gives more.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const SIZES: [usize; 2] = [250, 500];
const DEFAULT_RUNS: usize = 5;

pub fn run(args: &[&str]) -> Result<(), String> {
    let runs = match args {
        [] => DEFAULT_RUNS,
        ["--runs", n] => n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--runs takes a positive number, not `{n}`"))?,
        _ => return Err("usage: cargo xtask bench-compile [--runs N]".to_owned()),
    };
    let root = crate::codegen::workspace_root();
    let dir = std::env::temp_dir().join(format!("agentos-bench-compile-{}", std::process::id()));
    let result = write_workspace(&root, &dir).and_then(|()| measure(&root, &dir, runs));
    // Best effort: a leftover temp dir is harmless.
    let _ = std::fs::remove_dir_all(&dir);
    let times = result?;
    print!("{}", table(&times));
    Ok(())
}

/// A workspace of one crate per size, locked to this workspace's dependency versions.
fn write_workspace(root: &Path, dir: &Path) -> Result<(), String> {
    let members: Vec<String> = SIZES.iter().map(|n| format!("\"n{n}\"")).collect();
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    )?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("copying Cargo.lock: {e}"))?;
    for n in SIZES {
        let krate = dir.join(format!("n{n}"));
        write(
            &krate.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"bench-n{n}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [dependencies]\nagentos-macros = {{ path = {:?} }}\nagentos-runtime = {{ path = {:?} }}\n",
                root.join("macros"),
                root.join("core/runtime"),
            ),
        )?;
        write(&krate.join("src/lib.rs"), &surface(n))?;
    }
    Ok(())
}

/// A surface of `n` actions cycling through five shapes: plain data, `Option`, a
/// `Result<_, ActorError>`, `async`, and an `Emitter` parameter with an event of its own.
fn surface(n: usize) -> String {
    let mut src = String::from(
        "use agentos_runtime::{ActorError, Emitter};\n\npub struct Bench;\n\n\
         #[agentos_macros::surface(actor = \"bench\")]\nimpl Bench {\n",
    );
    for i in 0..n {
        let action = match i % 5 {
            0 => format!(
                "pub fn plain_{i}(&self, name: String, count: u32) -> u32 {{ name.len() as u32 + count }}"
            ),
            1 => format!(
                "pub fn optional_{i}(&self, key: String, limit: Option<u32>) -> Option<String> {{ limit.map(|_| key) }}"
            ),
            2 => format!(
                "pub fn fallible_{i}(&self, items: Vec<String>) -> Result<Vec<String>, ActorError> {{ Ok(items) }}"
            ),
            3 => format!(
                "pub async fn later_{i}(&self, path: String, flag: Option<bool>) -> Result<bool, ActorError> {{ Ok(flag.unwrap_or(path.is_empty())) }}"
            ),
            _ => format!(
                "pub async fn emits_{i}(&self, count: u32, #[event(\"progress{i}\")] on_progress: Emitter<u32>) -> Result<(), ActorError> {{ on_progress.emit(&count); Ok(()) }}"
            ),
        };
        writeln!(src, "    /// Action {i}.\n    #[action]\n    {action}\n").expect("string write");
    }
    src.push_str("}\n");
    src
}

/// Median wall time of `cargo check` per size, after one build of the dependencies.
fn measure(root: &Path, dir: &Path, runs: usize) -> Result<Vec<(usize, Duration)>, String> {
    // Shared across invocations, so the dependencies build once per machine, not per run.
    let target = root.join("target/bench-compile");
    eprintln!("building dependencies in {}", target.display());
    check(dir, &target, None)?;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); SIZES.len()];
    for run in 0..runs {
        // Alternating which size goes first spreads any drift of the machine over both.
        for k in 0..SIZES.len() {
            let k = (k + run) % SIZES.len();
            let n = SIZES[k];
            let lib = dir.join(format!("n{n}/src/lib.rs"));
            touch(&lib)?;
            let start = Instant::now();
            check(dir, &target, Some(n))?;
            let took = start.elapsed();
            eprintln!(
                "run {}/{runs}: {n} actions {:.2} s",
                run + 1,
                took.as_secs_f64()
            );
            samples[k].push(took);
        }
    }
    Ok(SIZES
        .iter()
        .zip(samples)
        .map(|(&n, mut times)| {
            times.sort();
            (n, times[times.len() / 2])
        })
        .collect())
}

/// `cargo check` of the crate of `n` actions, or of every crate when `None`.
fn check(dir: &Path, target: &Path, n: Option<usize>) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args(["check", "--quiet", "--target-dir"])
        .arg(target)
        .env("CARGO_INCREMENTAL", "0");
    match n {
        Some(n) => cmd.args(["-p", &format!("bench-n{n}")]),
        None => cmd.arg("--workspace"),
    };
    let status = cmd.status().map_err(|e| format!("running cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo check failed in {}", dir.display()))
    }
}

fn touch(path: &Path) -> Result<(), String> {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

fn table(times: &[(usize, Duration)]) -> String {
    let mut out = String::from("actions  cargo check (median)\n");
    for (n, t) in times {
        writeln!(out, "{n:>7}  {:>8.2} s", t.as_secs_f64()).expect("string write");
    }
    if let [(_, small), (_, large)] = times {
        writeln!(
            out,
            "ratio {}/{}: {:.2}",
            SIZES[1],
            SIZES[0],
            large.as_secs_f64() / small.as_secs_f64()
        )
        .expect("string write");
    }
    out
}
