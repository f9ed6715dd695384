//! What the process and shell tests share: a launcher over a VM directory, the lock that
//! keeps the counting tests alone, polling with a deadline, recording what a registry
//! reports, and counting the host's fds, children and sandboxes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::killpg;
use nix::unistd::Pid;

use super::child::Launcher;
use super::fs::HostView;
use super::identity::VmUser;
use super::sandbox::{Sandbox, SandboxMode};

/// Tests that count the test process's fds and children run alone among the tests that start
/// processes or shells: those take this shared, the counting ones exclusively.
pub static CHILDREN_RUNNING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub const DEADLINE: Duration = Duration::from_secs(10);

/// Plans programs in a `mode` sandbox over `root` alone, as a VM without mounts.
pub fn launcher(mode: SandboxMode, root: &std::path::Path) -> Launcher {
    let view = HostView {
        root: root.to_owned(),
        mounts: vec![],
    };
    let sandbox = Sandbox::detect(mode, false, VmUser::default());
    Launcher::new(Arc::new(sandbox), move || Ok(view.clone()))
}

/// Polls `done` until it holds or the deadline passes.
pub async fn until(mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > DEADLINE {
            return Err(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// What a registry reported through its callbacks, in order.
#[derive(Debug, Clone)]
pub struct Recorder<E>(Arc<Mutex<Vec<E>>>);

impl<E> Default for Recorder<E> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<E: Clone> Recorder<E> {
    pub fn push(&self, event: E) {
        self.0.lock().unwrap().push(event);
    }

    pub fn events(&self) -> Vec<E> {
        self.0.lock().unwrap().clone()
    }
}

pub fn group_exists(pid: u32) -> bool {
    killpg(Pid::from_raw(pid as i32), None).is_ok()
}

/// Host processes still running a sandbox of `root`: bubblewrap names the root it binds.
pub fn sandboxes(root: &std::path::Path) -> usize {
    processes_naming(&root.to_string_lossy())
}

/// Host processes whose command line contains `marker`.
pub fn processes_naming(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(marker))
        .count()
}

/// The test process's open file descriptors.
pub fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The test process's children, from every thread.
pub fn children() -> Vec<u32> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flat_map(|task| {
            let list = std::fs::read_to_string(task.unwrap().path().join("children"));
            let list = list.unwrap_or_default();
            list.split_whitespace()
                .map(|pid| pid.parse().unwrap())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// A temporary directory a sandbox can bind: owned by the VM's host user when the tests run
/// as root, as `Filesystem::open_as` leaves a VM's root.
pub fn vm_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(user) = VmUser::default().when_root() {
        user.adopt(dir.path()).unwrap();
    }
    dir
}
