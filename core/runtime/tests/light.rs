//! Every crate that uses `#[surface]` compiles this one: it stays free of the VM's and the
//! hosts' dependencies, so an app that only wants a surface of its own builds no server,
//! database, PTY, agent protocol or command line.

use std::process::Command;

const FORBIDDEN: [&str; 7] = [
    "axum",
    "tower-http",
    "rusqlite",
    "pty-process",
    "agent-client-protocol",
    "rmcp",
    "clap",
];

#[test]
fn the_runtime_links_no_server_database_pty_agent_protocol_or_command_line() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "agentos-runtime",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--offline", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"serde"), "{tree}");
    let found: Vec<_> = FORBIDDEN.iter().filter(|c| crates.contains(c)).collect();
    assert!(
        found.is_empty(),
        "agentos-runtime depends on {found:?}:\n{tree}"
    );
}
