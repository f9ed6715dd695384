//! The VM's subsystems: its filesystem, the sandbox its processes run in, processes and
//! interactive shells, agent sessions, cron, and the store their durable state lives in.

pub mod cron;
pub mod exec;
pub mod fs;
pub mod process;
pub mod sandbox;
pub mod session;
pub mod shell;
mod store;

#[cfg(test)]
mod test_support;
