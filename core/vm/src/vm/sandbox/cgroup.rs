//! Per-VM resource limits: every process of a VM starts in that VM's cgroup, which caps how
//! many processes it may have, how much memory they may use (past it the kernel kills one of
//! them, in that VM only) and its share of CPU time.
//!
//! cgroup v2 when the host's own cgroup can delegate the `memory`, `pids` and `cpu`
//! controllers to a child; otherwise the v1 hierarchies of those controllers (hosts that
//! still mount them, as hybrid systems do). When neither works, the VM runs without limits
//! and `sandboxInfo` says why. A VM's cgroup is `agentos-vms/<host pid>-<vm>` under the
//! host's own, in each hierarchy; those of hosts that are gone (killed, say) are removed when
//! the next VM opens, once empty.
//!
//! Processes join by writing `0` to `cgroup.procs` descriptors opened by the host before the
//! fork (the kernel checks the opener's credentials), so a child that already switched to the
//! VM's unprivileged user can still join.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The limits each VM's processes run under, together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VmLimits {
    /// Most processes (and threads) at once; a fork past it fails.
    pub pids_max: u32,
    /// Most memory, in MiB; past it the kernel kills a process of the VM.
    pub memory_max_mib: u32,
    /// CPU share relative to other VMs: 100 is an equal share (1–10000).
    pub cpu_weight: u32,
}

impl Default for VmLimits {
    fn default() -> Self {
        Self {
            pids_max: 1024,
            memory_max_mib: 2048,
            cpu_weight: 100,
        }
    }
}

/// Where the VMs' cgroups go, in each hierarchy.
const PARENT: &str = "agentos-vms";
const CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One VM's cgroup: a directory per hierarchy, removed on drop.
#[derive(Debug)]
pub struct VmCgroup {
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each directory, opened for writing.
    procs: Vec<OwnedFd>,
    /// The file whose `oom_kill` line counts the VM's processes killed for memory.
    events: PathBuf,
    pub limits: VmLimits,
}

impl VmCgroup {
    /// Creates (or takes over) the cgroup of VM `name` with `limits`, or says why it cannot.
    pub fn create(name: &str, limits: &VmLimits) -> Result<Self, String> {
        if name.is_empty() || name.contains('/') {
            return Err(format!("`{name}` cannot name a cgroup"));
        }
        let own = own_cgroups().map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let unified = Path::new(CGROUP_ROOT).join("cgroup.controllers");
        let v2 = match (own.get(""), std::fs::read_to_string(&unified)) {
            (Some(path), Ok(available)) => Self::create_v2(path, &available, name, limits),
            _ => Err("no cgroup v2 hierarchy at /sys/fs/cgroup".to_owned()),
        };
        v2.or_else(|v2_err| {
            Self::create_v1(&own, name, limits).map_err(|v1_err| {
                format!("no per-VM limits: cgroup v2: {v2_err}; cgroup v1: {v1_err}")
            })
        })
    }

    fn create_v2(
        own: &str,
        available: &str,
        name: &str,
        limits: &VmLimits,
    ) -> Result<Self, String> {
        let missing: Vec<_> = CONTROLLERS
            .iter()
            .filter(|c| !available.split_whitespace().any(|a| a == **c))
            .collect();
        if !missing.is_empty() {
            return Err(format!("controllers {missing:?} are not enabled"));
        }
        let host = Path::new(CGROUP_ROOT).join(own.trim_start_matches('/'));
        let parent = host.join(PARENT);
        let enable = "+memory +pids +cpu";
        // A cgroup holding processes cannot enable controllers for children (the host's own,
        // unless the host was started in one with delegation).
        write(&host.join("cgroup.subtree_control"), enable)?;
        mkdir(&parent)?;
        write(&parent.join("cgroup.subtree_control"), enable)?;
        sweep(&parent);
        let dir = parent.join(own_name(name));
        mkdir(&dir)?;
        let group = Self::open(vec![dir.clone()], dir.join("memory.events"), *limits)?;
        write(&dir.join("pids.max"), &limits.pids_max.to_string())?;
        write(
            &dir.join("memory.max"),
            &(u64::from(limits.memory_max_mib) << 20).to_string(),
        )?;
        // Without swap the memory limit is the limit; a host without swap has no such file.
        let _ = write(&dir.join("memory.swap.max"), "0");
        write(&dir.join("cpu.weight"), &limits.cpu_weight.to_string())?;
        Ok(group)
    }

    fn create_v1(
        own: &std::collections::HashMap<String, String>,
        name: &str,
        limits: &VmLimits,
    ) -> Result<Self, String> {
        let mut dirs = Vec::new();
        for controller in CONTROLLERS {
            let path = own
                .get(controller)
                .ok_or_else(|| format!("no {controller} hierarchy"))?;
            let parent = Path::new(CGROUP_ROOT)
                .join(controller)
                .join(path.trim_start_matches('/'))
                .join(PARENT);
            mkdir(&parent)?;
            sweep(&parent);
            let dir = parent.join(own_name(name));
            mkdir(&dir)?;
            dirs.push(dir);
        }
        let [memory, pids, cpu] = [&dirs[0], &dirs[1], &dirs[2]];
        let group = Self::open(dirs.clone(), memory.join("memory.oom_control"), *limits)?;
        write(&pids.join("pids.max"), &limits.pids_max.to_string())?;
        write(
            &memory.join("memory.limit_in_bytes"),
            &(u64::from(limits.memory_max_mib) << 20).to_string(),
        )?;
        write(
            &cpu.join("cpu.shares"),
            &(u64::from(limits.cpu_weight) * 1024 / 100)
                .max(2)
                .to_string(),
        )?;
        Ok(group)
    }

    fn open(dirs: Vec<PathBuf>, events: PathBuf, limits: VmLimits) -> Result<Self, String> {
        let procs = dirs
            .iter()
            .map(|dir| {
                let path = dir.join("cgroup.procs");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map(OwnedFd::from)
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            dirs,
            procs,
            events,
            limits,
        })
    }

    /// Moves the calling process into this cgroup. Only system calls: for a child between
    /// fork and exec.
    pub fn join(&self) -> std::io::Result<()> {
        for fd in &self.procs {
            // SAFETY: write of a static byte to a descriptor this cgroup owns.
            if unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) } != 1 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// How many of the VM's processes the kernel has killed for memory so far.
    pub fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(&self.events)
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("oom_kill "))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for VmCgroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            if let Err(err) = std::fs::remove_dir(dir) {
                // Processes still exiting keep it busy; the next VM to open sweeps it.
                tracing::debug!(dir = %dir.display(), %err, "VM cgroup not removed");
            }
        }
    }
}

/// This process's cgroup path per v1 controller, and the v2 one under `""`.
fn own_cgroups() -> std::io::Result<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string("/proc/self/cgroup")?;
    let mut own = std::collections::HashMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        for controller in controllers.split(',') {
            own.insert(controller.to_owned(), path.to_owned());
        }
    }
    Ok(own)
}

/// The cgroup name of this host's VM `name`.
fn own_name(name: &str) -> String {
    format!("{}-{name}", std::process::id())
}

/// Removes the cgroups of VMs whose host process is gone (a busy one stays).
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if crate::vm::left_by_a_gone_host(&entry.file_name(), "") {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

fn mkdir(dir: &Path) -> Result<(), String> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(format!("{}: {e}", dir.display()))
        }
        _ => Ok(()),
    }
}

fn write(file: &Path, value: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| format!("{}: {e}", file.display()))
}
