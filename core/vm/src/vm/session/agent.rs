//! An agent's program on the host: whether it can start where it runs (and why not), the argv
//! and environment it starts with, the host paths its sandbox binds, and the presets every
//! host offers.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::types::AgentConfig;
use crate::vm::sandbox::{DEFAULT_PATH, SYSTEM_DIRS};

/// Well-known ACP agents, by id (`presets.json`): how each is installed and the host
/// environment variables it needs. Hosts register them beside their own agents.
pub fn presets() -> BTreeMap<String, AgentConfig> {
    serde_json::from_str(include_str!("presets.json")).expect("presets.json is valid")
}

/// Why the agent's program cannot start, if it cannot. Unsandboxed, it must be on the host.
/// In the sandbox, which sees the host's system directories at their paths and the agent's
/// binds under [`HOST_BINDS`](crate::vm::sandbox::HOST_BINDS) (the command's argv entry rewritten to match), a name is looked
/// up on the sandbox's `PATH`, the file it names must be seen (a symlink's target included),
/// and a script's interpreter must be in the system directories, since a `#!` line is not
/// rewritten: a pyenv shim or an npm package installed under a home directory is found on the
/// host but cannot start inside.
pub(super) fn unavailable(agent: &AgentConfig, sandboxed: bool) -> Option<String> {
    if !sandboxed {
        return host_lookup(&agent.command, std::env::var_os("PATH").as_deref())
            .is_none()
            .then(|| format!("{} is not installed on the host", agent.command));
    }
    Sandboxed::new(agent, std::env::var_os("PATH")).why_not(agent)
}

/// What a sandboxed agent sees of the host, and the host's `PATH` (for saying where a program
/// the sandbox lacks is on the host).
struct Sandboxed {
    binds: Vec<PathBuf>,
    host_path: Option<OsString>,
}

impl Sandboxed {
    fn new(agent: &AgentConfig, host_path: Option<OsString>) -> Self {
        Self {
            binds: binds(agent, []).into_iter().map(PathBuf::from).collect(),
            host_path,
        }
    }

    fn why_not(&self, agent: &AgentConfig) -> Option<String> {
        self.resolve(&agent.command)
            .and_then(|program| self.runnable(&program, 0))
            .err()
    }

    /// Whether `path` is seen at this path inside: in the system directories, or (for the
    /// command, whose argv entry follows its bind) bound.
    fn sees(&self, path: &Path, bound_counts: bool) -> bool {
        (bound_counts && self.binds.iter().any(|bind| path.starts_with(bind)))
            || std::fs::canonicalize(path)
                .is_ok_and(|real| SYSTEM_DIRS.iter().any(|dir| real.starts_with(dir)))
    }

    /// The host file `command` names inside the sandbox.
    fn resolve(&self, command: &str) -> Result<PathBuf, String> {
        if command.starts_with('/') {
            return Ok(PathBuf::from(command));
        }
        if command.contains('/') {
            return Err(format!(
                "{command} is a relative path: give the agent's command as an absolute path or a name"
            ));
        }
        if let Some(found) = std::env::split_paths(DEFAULT_PATH)
            .map(|dir| dir.join(command))
            .find(|path| path.is_file() && self.sees(path, false))
        {
            return Ok(found);
        }
        Err(match host_lookup(command, self.host_path.as_deref()) {
            Some(on_host) => format!(
                "`{command}` is not on the sandbox's PATH ({DEFAULT_PATH}); the host's is {}, which the sandbox does not see: give that path as the command, or install it under /usr/local",
                on_host.display()
            ),
            None => {
                format!("`{command}` is not installed (not on the sandbox's PATH, {DEFAULT_PATH})")
            }
        })
    }

    /// Whether `program` can be executed inside: it exists, is seen, is executable, and so is
    /// the interpreter its `#!` line names (`/usr/bin/env NAME` looks `NAME` up).
    fn runnable(&self, program: &Path, depth: usize) -> Result<(), String> {
        let shown = program.display();
        let meta = std::fs::metadata(program).map_err(|err| format!("{shown}: {err}"))?;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(format!("{shown} is not an executable file"));
        }
        if !self.sees(program, depth == 0) {
            return Err(format!(
                "{shown} is outside what the sandbox sees at that path (the host's system directories{})",
                if depth == 0 {
                    " and the agent's binds"
                } else {
                    "; binds are seen elsewhere, and a #! line is not rewritten"
                }
            ));
        }
        let Some(line) = shebang(program) else {
            return Ok(());
        };
        let mut words = line.split_whitespace();
        let Some(interpreter) = words.next() else {
            return Ok(());
        };
        // Deeper chains are the kernel's to refuse.
        if depth > 2 {
            return Ok(());
        }
        let interpreter = if interpreter.ends_with("/env") {
            match words.find(|word| !word.starts_with('-')) {
                Some(name) => self
                    .resolve(name)
                    .map_err(|why| format!("{shown} runs {name}: {why}"))?,
                None => PathBuf::from(interpreter),
            }
        } else {
            PathBuf::from(interpreter)
        };
        self.runnable(&interpreter, depth + 1)
            .map_err(|why| format!("{shown} runs {}: {why}", interpreter.display()))
    }
}

/// A script's `#!` line, without the `#!`.
fn shebang(path: &Path) -> Option<String> {
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let head = head[..n].strip_prefix(b"#!")?;
    let line = head.split(|&b| b == b'\n').next()?;
    Some(String::from_utf8_lossy(line).into_owned())
}

/// Where `command` is on the host: a path that exists, or a name on `path`.
fn host_lookup(command: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    if command.contains('/') {
        return Path::new(command).is_file().then(|| PathBuf::from(command));
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(command))
        .find(|path| path.is_file())
}

/// The program and its arguments.
pub(super) fn argv(agent: &AgentConfig) -> Vec<String> {
    std::iter::once(agent.command.clone())
        .chain(agent.args.iter().cloned())
        .collect()
}

/// The agent's environment: its configured variables, then those of `pass_env` the host has,
/// then the session's own.
pub(super) fn env(
    agent: &AgentConfig,
    session: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut env = agent.env.clone();
    env.extend(
        agent
            .pass_env
            .iter()
            .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?))),
    );
    env.extend(session.cloned().unwrap_or_default());
    env
}

/// The host paths the agent's sandbox binds read-only: those it is configured with, then
/// `extra`, then its program when that is an absolute path none of them covers, so that an
/// agent binary need not live in the VM.
pub(super) fn binds(agent: &AgentConfig, extra: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut binds = agent.binds.clone();
    binds.extend(extra);
    // Whole path components: `/bin/agentos` does not cover `/bin/agentos-test-agent`.
    let covered = binds
        .iter()
        .any(|bind| Path::new(&agent.command).starts_with(bind));
    if agent.command.starts_with('/') && !covered {
        binds.push(agent.command.clone());
    }
    binds
}

#[cfg(test)]
mod tests;
