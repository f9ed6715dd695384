//! The VM's subsystems: its filesystem, the sandbox its processes run in, processes and
//! interactive shells, and agent sessions.

pub mod exec;
pub mod fs;
pub mod process;
pub mod sandbox;
pub mod session;
pub mod shell;

/// Tests that count the test process's fds and children run alone among the tests that start
/// processes or shells: those take this shared, the counting ones exclusively.
#[cfg(test)]
pub(crate) static CHILDREN_RUNNING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());
