//! The VM's subsystems: its filesystem, the sandbox its processes run in, processes and
//! interactive shells, agent sessions, and the host toolkits agents call.

pub mod exec;
pub mod fs;
pub mod process;
pub mod sandbox;
pub mod session;
pub mod shell;
pub mod toolkit;

#[cfg(test)]
mod test_support;
