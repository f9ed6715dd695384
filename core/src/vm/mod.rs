//! The VM's subsystems: its filesystem, the sandbox its processes run in, processes and
//! interactive shells, agent sessions, cron, the host toolkits agents call, and the store
//! their durable state lives in.

pub mod cron;
pub mod exec;
pub mod fs;
pub mod identity;
pub mod process;
pub mod sandbox;
pub mod session;
pub mod shell;
mod store;
pub mod toolkit;

#[cfg(test)]
mod test_support;
