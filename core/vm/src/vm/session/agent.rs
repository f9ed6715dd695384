//! An agent's program on the host: whether it is installed, the argv it starts with, and the
//! host paths its sandbox binds.

use std::path::Path;

use super::types::AgentConfig;

/// Whether `command` names a program on the host: a path that exists, or a name on `PATH`.
pub(super) fn installed(command: &str) -> bool {
    if command.contains('/') {
        return Path::new(command).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(command).is_file()))
}

/// The program and its arguments.
pub(super) fn argv(agent: &AgentConfig) -> Vec<String> {
    std::iter::once(agent.command.clone())
        .chain(agent.args.iter().cloned())
        .collect()
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
