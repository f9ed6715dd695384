use std::os::unix::fs::PermissionsExt;

use super::*;

/// An executable file at `dir/name` holding `content`.
fn program(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

fn agent(command: &str) -> AgentConfig {
    AgentConfig {
        command: command.to_owned(),
        ..AgentConfig::default()
    }
}

/// Why `agent` cannot start in the sandbox, with `host_path` as the host's `PATH`.
fn why_not(agent: &AgentConfig, host_path: &Path) -> Option<String> {
    Sandboxed::new(agent, Some(host_path.as_os_str().to_owned())).why_not(agent)
}

#[test]
fn system_programs_and_bound_scripts_with_a_seen_interpreter_can_start() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(why_not(&agent("sh"), dir.path()), None);
    let script = program(dir.path(), "agent", "#!/usr/bin/env sh\necho\n");
    assert_eq!(why_not(&agent(&script), dir.path()), None);
    let script = program(dir.path(), "agent2", "#!/bin/sh -e\necho\n");
    assert_eq!(why_not(&agent(&script), dir.path()), None);
}

#[test]
fn a_program_only_the_host_has_on_its_path_is_not_installed_and_says_where_it_is() {
    let shims = tempfile::tempdir().unwrap();
    let shim = program(
        shims.path(),
        "my-agent-acp",
        "#!/usr/bin/env bash\nexec pyenv\n",
    );
    let why = why_not(&agent("my-agent-acp"), shims.path()).unwrap();
    assert!(why.contains("not on the sandbox's PATH"), "{why}");
    assert!(why.contains(&shim), "{why}");
    let why = why_not(&agent("no-such-agent-anywhere"), shims.path()).unwrap();
    assert!(
        why.contains("`no-such-agent-anywhere` is not installed"),
        "{why}"
    );
}

#[test]
fn an_interpreter_outside_the_sandbox_or_missing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let interpreter = program(elsewhere.path(), "python", "#!/bin/sh\n");
    let script = program(dir.path(), "agent.py", &format!("#!{interpreter}\n"));
    let why = why_not(&agent(&script), dir.path()).unwrap();
    assert!(why.contains(&format!("runs {interpreter}")), "{why}");
    assert!(why.contains("outside what the sandbox sees"), "{why}");
    // Bound, it is still not at its path inside: binds are under /tmp/.agentos-host.
    let bound = AgentConfig {
        binds: vec![elsewhere.path().to_string_lossy().into_owned()],
        ..agent(&script)
    };
    let why = why_not(&bound, dir.path()).unwrap();
    assert!(why.contains("a #! line is not rewritten"), "{why}");
    let script = program(dir.path(), "agent.js", "#!/usr/bin/env no-such-node\n");
    let why = why_not(&agent(&script), dir.path()).unwrap();
    assert!(why.contains("runs no-such-node"), "{why}");
}

#[test]
fn missing_relative_and_unexecutable_commands_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(why_not(&agent("/nonexistent/agent"), dir.path()).is_some());
    let why = why_not(&agent("./agent"), dir.path()).unwrap();
    assert!(why.contains("relative path"), "{why}");
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "x").unwrap();
    let why = why_not(&agent(plain.to_str().unwrap()), dir.path()).unwrap();
    assert!(why.contains("not an executable file"), "{why}");
    assert!(unavailable(&agent("/nonexistent/agent"), false).is_some());
    assert_eq!(unavailable(&agent("/bin/sh"), false), None);
}

#[test]
fn presets_name_how_to_install_them_and_the_keys_they_need() {
    let presets = presets();
    assert_eq!(
        presets.keys().collect::<Vec<_>>(),
        ["claude", "codex", "gemini", "opencode"]
    );
    for (id, preset) in &presets {
        assert!(preset.install.is_some(), "{id}");
        assert!(!preset.pass_env.is_empty(), "{id}");
    }
}
