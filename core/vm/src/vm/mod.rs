//! The VM's subsystems: its configuration and how it opens, its filesystem, the sandbox its
//! processes run in and the layer every program of the VM runs on (`child`), one-shot and
//! spawned processes and interactive shells, agent sessions, cron, the host toolkits agents
//! call, and the store their durable state lives in.

pub mod checkpoint;
pub(crate) mod child;
pub(crate) mod config;
pub mod cron;
pub mod exec;
pub mod fs;
pub mod health;
pub mod identity;
pub(crate) mod mount_store;
pub mod network;
mod open;
pub mod process;
pub mod sandbox;
pub mod session;
pub mod shell;
pub mod store;
pub mod toolkit;
pub mod watch;

#[cfg(test)]
mod test_support;

/// Whether `name` (of a cgroup, a memory mount directory…) is `<prefix><pid>-…` for a host
/// process that no longer exists: what a host killed before it could clean up leaves behind.
pub(crate) fn left_by_a_gone_host(name: &std::ffi::OsStr, prefix: &str) -> bool {
    let host = name
        .to_str()
        .and_then(|name| name.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('-'))
        .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok());
    // SAFETY: kill with signal 0 only checks that the process exists.
    host.is_some_and(|pid| {
        (unsafe { libc::kill(pid, 0) }) == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    })
}
