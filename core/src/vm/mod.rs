//! The VM's subsystems: its filesystem, the sandbox its processes run in, processes and
//! interactive shells, and agent sessions.

pub mod exec;
pub mod fs;
pub mod process;
pub mod sandbox;
pub mod session;
pub mod shell;

#[cfg(test)]
mod test_support;
