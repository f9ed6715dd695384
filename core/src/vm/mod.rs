//! The VM's subsystems: its filesystem, the sandbox its processes run in, and processes.

pub mod exec;
pub mod fs;
pub mod sandbox;
