//! Where VM processes run: under bubblewrap, seeing exactly the VM's tree (its root at `/`
//! and its mounts at their paths), the host's system directories read-only, their own
//! `/proc`, `/dev` and `/tmp`, no host home, no capabilities (so not even a process that is
//! root inside can remount what it sees read-only) and no network unless the VM allows it. Without
//! bubblewrap the VM refuses to run processes unless configured for `sandbox: "none"`.
//!
//! Every sandbox has its own user namespace whose root is an unprivileged host user
//! ([`super::identity`]): bubblewrap runs as that user, so the namespace is one it could make
//! itself, and `/proc/sys` is read-only inside whatever that user may write.
//!
//! A terminal process gets a bubblewrap of its own. A piped one (`exec`) enters namespaces
//! that bubblewrap built once for the VM's current view ([`resident`]): bubblewrap's setup
//! would otherwise cost several times the process itself. It still gets its own pid
//! namespace, `/proc`, `/tmp` and `/dev/shm`; `/dev` is read-only there.

mod cgroup;
pub(crate) mod etc;
mod netns;
mod resident;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::fs::HostView;
use super::identity::VmUser;
use crate::runtime::ActorError;
use resident::Namespaces;

use cgroup::VmCgroup;
pub use cgroup::VmLimits;
pub use netns::VmNetwork;

/// Host directories a sandboxed process sees read-only, when the host has them.
pub(crate) const SYSTEM_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"];

/// bubblewrap, and the init it forks as pid 1 of the sandbox (`--unshare-pid` without
/// `--as-pid-1`), which forks the program. A terminal plan's `setsid` does not fork: the
/// program is not a group leader there, so `setsid` execs it in place.
const BWRAP_WRAPPERS: usize = 2;

/// Where a sandboxed process sees the host paths of [`Launch::binds`]: inside its private
/// `/tmp`, so that binding them creates no mount points in the VM's own tree.
pub const HOST_BINDS: &str = "/tmp/.agentos-host";

/// The `PATH` a sandboxed process starts with unless the caller sets one.
pub(crate) const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

/// How a VM isolates its processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SandboxMode {
    /// bubblewrap: the VM's tree only, no network unless allowed.
    #[default]
    Bubblewrap,
    /// No isolation: processes run as the host user in the VM root's host directory. Only
    /// for hosts that choose it explicitly.
    None,
}

/// What the VM's processes run in, as `sandboxInfo` reports it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct SandboxInfo {
    /// The configured mode.
    pub mode: SandboxMode,
    /// Whether processes can run: false when bubblewrap is configured but not installed.
    pub available: bool,
    /// `bwrap --version`, when bubblewrap is in use.
    pub version: Option<String>,
    /// Whether processes may use the network.
    pub network: bool,
    /// The limits the VM's processes run under, when the host could set them.
    pub limits: Option<VmLimits>,
    /// Why the VM's processes run without limits, when they do.
    pub limits_unavailable: Option<String>,
}

/// A process to start: argv, VM working directory, environment.
pub struct Launch<'a> {
    pub argv: &'a [String],
    pub cwd: &'a str,
    pub env: &'a BTreeMap<String, String>,
    /// Host paths the process needs beyond the VM and the system directories (an agent's
    /// binary, say), bound read-only under [`HOST_BINDS`]; argv entries naming one of them
    /// (or a path inside one) are rewritten to where it is bound.
    pub binds: &'a [String],
}

/// A process ready to start: the program and arguments the host runs (bubblewrap's own, for
/// a sandboxed terminal process), its exact environment and host working directory — or, for
/// a piped sandboxed process, its own argv, environment and VM working directory, and the
/// namespaces it enters.
#[derive(Debug, Clone)]
pub struct Plan {
    pub program: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    /// For a terminal process: whether it takes its controlling terminal itself, inside the
    /// sandbox, so the host must start it in a session without one.
    pub acquires_terminal: bool,
    /// How many processes stand between the one the host starts and the program: bubblewrap
    /// (or, in resident namespaces, the process that entered them) and the init it runs in the
    /// sandbox's pid namespace (2), or none (0). Signals meant for the program, and the
    /// process tree a VM shows, skip them.
    pub wrappers: usize,
    /// The host user bubblewrap runs as, when the host is root.
    user: Option<VmUser>,
    /// The VM's cgroup, which the process joins before it execs.
    cgroup: Option<Arc<VmCgroup>>,
    /// The VM's network namespace, which bubblewrap starts in.
    net: Option<Arc<VmNetwork>>,
    resident: Option<Arc<Namespaces>>,
}

impl Plan {
    /// A tokio command for the plan, in a process group of its own (for resident namespaces,
    /// a session, whose group is the process's) so that a timeout or kill reaches every
    /// descendant, killed if dropped.
    pub fn command(&self) -> tokio::process::Command {
        if let Some(namespaces) = &self.resident {
            return namespaces.command(self);
        }
        let mut cmd = self.host_command();
        cmd.process_group(0).kill_on_drop(true);
        cmd
    }

    /// A tokio command for a plan that [`acquires_terminal`](Self::acquires_terminal): in a
    /// new session without a controlling terminal; the caller sets its stdio to the terminal.
    pub fn terminal_command(&self) -> tokio::process::Command {
        let mut cmd = self.host_command();
        // SAFETY: setsid is async-signal-safe, as a pre-exec hook requires.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()
                    .map(drop)
                    .map_err(std::io::Error::from)
            });
        }
        cmd
    }

    /// The program started directly by the host, as the plan's user, with default signal
    /// dispositions (a host started under `nohup` ignores SIGHUP; its processes must not).
    fn host_command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd);
        let cgroup = self.cgroup.clone();
        let (net, user) = (self.net.clone(), self.user);
        // SAFETY: `enter_as`, `join` and `reset_signals` make only async-signal-safe system
        // calls.
        unsafe {
            cmd.pre_exec(move || {
                enter_as(net.as_deref(), user)?;
                if let Some(cgroup) = &cgroup {
                    cgroup.join()?;
                }
                reset_signals();
                Ok(())
            });
        }
        cmd
    }
}

/// In a forked child: joins the VM's network namespace, which takes the host's privileges,
/// then becomes `user` (without the host's supplementary groups), as bubblewrap must start.
/// Only system calls.
pub(crate) fn enter_as(net: Option<&VmNetwork>, user: Option<VmUser>) -> std::io::Result<()> {
    if let Some(net) = net {
        net.enter()?;
    }
    if let Some(user) = user {
        nix::unistd::setgroups(&[])?;
        let (gid, uid) = (
            nix::unistd::Gid::from_raw(user.gid),
            nix::unistd::Uid::from_raw(user.uid),
        );
        nix::unistd::setresgid(gid, gid, gid)?;
        nix::unistd::setresuid(uid, uid, uid)?;
    }
    Ok(())
}

/// Resets every handled or ignored signal to its default, as a fresh process has them: exec
/// resets handled ones but keeps ignored ones, and the host's handlers must not run in a
/// child that has not exec'd yet. Only system calls; signals that cannot change are skipped.
pub(crate) fn reset_signals() {
    for signal in 1..=libc::SIGRTMAX() {
        // SAFETY: sigaction with zeroed structs.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction != libc::SIG_DFL
            {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
        }
    }
}

pub struct Sandbox {
    mode: SandboxMode,
    network: bool,
    /// Who bubblewrap runs as: set when the host is root.
    user: Option<VmUser>,
    /// The VM's cgroup, or why there is none; `None` when no limits were asked for.
    cgroup: Option<Result<Arc<VmCgroup>, String>>,
    /// The VM's own network namespace, or why its processes have none (see [`netns`]);
    /// `None` when they share the host's network.
    net: Option<Result<Arc<VmNetwork>, String>>,
    /// The bubblewrap binary and its version, when found.
    bwrap: Option<(PathBuf, String)>,
    /// The namespaces built for the last view a piped process ran in, with the identity of
    /// the root directory they bind; `None` for a view when bubblewrap made no user namespace
    /// to join.
    resident: Mutex<Option<Resident>>,
}

impl Sandbox {
    /// Looks for bubblewrap on `PATH` when the mode needs it. A root host runs it as `user`.
    pub fn detect(mode: SandboxMode, network: bool, user: VmUser) -> Self {
        let bwrap = (mode == SandboxMode::Bubblewrap)
            .then(|| {
                let output = std::process::Command::new("bwrap")
                    .arg("--version")
                    .output()
                    .ok()?;
                output.status.success().then(|| {
                    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                    (PathBuf::from("bwrap"), version)
                })
            })
            .flatten();
        let user = user.when_root().filter(|_| mode == SandboxMode::Bubblewrap);
        let net = (mode == SandboxMode::Bubblewrap && !network).then(|| match user {
            Some(_) => VmNetwork::create().map_err(|e| {
                let reason = format!("cannot make the VM's network namespace: {e}");
                tracing::warn!(reason, "each VM process gets a loopback of its own");
                reason
            }),
            None => Err("only a host that runs as root gives a VM one network for all its processes; each has a loopback of its own".to_owned()),
        });
        Self {
            mode,
            network,
            user,
            cgroup: None,
            net,
            bwrap,
            resident: Mutex::default(),
        }
    }

    /// Runs the processes of VM `vm` (a name unique among the host's VMs) under `limits`,
    /// when the host can set them (see [`cgroup`]); `sandboxInfo` says when it cannot.
    pub fn with_limits(mut self, vm: &str, limits: &VmLimits) -> Self {
        let cgroup = VmCgroup::create(vm, limits).map(Arc::new);
        if let Err(reason) = &cgroup {
            tracing::warn!(vm, reason, "VM processes run without limits");
        }
        self.cgroup = Some(cgroup);
        self
    }

    /// How many of the VM's processes the kernel killed for going over its memory limit.
    pub fn oom_kills(&self) -> u64 {
        self.vm_cgroup().map_or(0, |cgroup| cgroup.oom_kills())
    }

    fn vm_cgroup(&self) -> Option<&Arc<VmCgroup>> {
        self.cgroup.as_ref().and_then(|c| c.as_ref().ok())
    }

    fn vm_net(&self) -> Option<&Arc<VmNetwork>> {
        self.net.as_ref().and_then(|n| n.as_ref().ok())
    }

    /// A TCP connection to `port` on the loopback the VM's processes listen on: the VM's own
    /// network, or the host's when they share it.
    pub async fn connect(&self, port: u16) -> Result<tokio::net::TcpStream, ActorError> {
        let refused = |e: std::io::Error| {
            let message = format!("cannot connect to port {port} in the VM: {e}");
            match e.kind() {
                std::io::ErrorKind::ConnectionRefused => ActorError::not_found(format!(
                    "{message} (no process of the VM listens on 127.0.0.1:{port})"
                )),
                std::io::ErrorKind::TimedOut => ActorError::timeout(message),
                _ => ActorError::internal(message),
            }
        };
        match &self.net {
            Some(Ok(net)) => net.connect(port).await.map_err(refused),
            Some(Err(reason)) => Err(ActorError::unsupported(format!(
                "the host cannot reach this VM's ports: {reason}"
            ))),
            None => tokio::task::spawn_blocking(move || netns::connect_loopback(port))
                .await
                .map_err(|e| ActorError::internal(e.to_string()))?
                .and_then(tokio::net::TcpStream::from_std)
                .map_err(refused),
        }
    }

    /// The host user the VM's files and processes belong to, when the host is root and must
    /// act as it (see [`super::identity`]).
    /// Whether the VM's processes run in bubblewrap, seeing the VM's root as their `/` (and
    /// what [`etc::seed`] writes there) rather than the host.
    pub fn isolates(&self) -> bool {
        self.mode == SandboxMode::Bubblewrap
    }

    pub fn network(&self) -> bool {
        self.network
    }

    pub fn user(&self) -> Option<VmUser> {
        self.user
    }

    /// Where a process sees `host_path` when it is among its [`Launch::binds`].
    pub fn bound_path(&self, host_path: &str) -> String {
        match self.mode {
            SandboxMode::Bubblewrap => format!("{HOST_BINDS}{host_path}"),
            SandboxMode::None => host_path.to_owned(),
        }
    }

    pub fn info(&self) -> SandboxInfo {
        SandboxInfo {
            mode: self.mode,
            available: self.mode == SandboxMode::None || self.bwrap.is_some(),
            version: self.bwrap.as_ref().map(|(_, v)| v.clone()),
            network: self.network || self.mode == SandboxMode::None,
            limits: self.vm_cgroup().map(|cgroup| cgroup.limits),
            limits_unavailable: match &self.cgroup {
                Some(Err(reason)) => Some(reason.clone()),
                None => Some("the host set no limits for this VM".to_owned()),
                Some(Ok(_)) => None,
            },
        }
    }

    /// How to start `launch` in this sandbox over `view`. A sandboxed process always gets a
    /// session of its own; a `terminal` one then takes its PTY as controlling terminal inside
    /// the sandbox (`setsid --ctty`), so that its process groups, job control and ^C live
    /// inside the sandbox's pid namespace and bubblewrap stays out of them. A piped one
    /// enters the view's resident namespaces, built (by running bubblewrap, a few
    /// milliseconds) when the view is new.
    pub fn plan(
        &self,
        view: &HostView,
        launch: &Launch<'_>,
        terminal: bool,
    ) -> Result<Plan, ActorError> {
        let Some((program, args)) = launch.argv.split_first() else {
            return Err(ActorError::invalid_input("argv must name a program"));
        };
        let mut env = BTreeMap::from([
            ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
            ("HOME".to_owned(), etc::HOME.to_owned()),
        ]);
        env.extend(launch.env.clone());
        match (self.mode, &self.bwrap) {
            (SandboxMode::None, _) => Ok(Plan {
                program: program.clone(),
                args: args.to_vec(),
                env,
                cwd: view.root.join(launch.cwd.trim_start_matches('/')),
                acquires_terminal: false,
                wrappers: 0,
                user: None,
                cgroup: self.vm_cgroup().cloned(),
                net: None,
                resident: None,
            }),
            (SandboxMode::Bubblewrap, None) => Err(ActorError::unsupported(
                "bubblewrap (bwrap) is not installed, so this VM cannot run processes; install it (apt-get install bubblewrap) or start the host with --sandbox none",
            )),
            (SandboxMode::Bubblewrap, Some((bwrap, _))) => {
                // Host binds live in a `/tmp` of bubblewrap's making, which resident
                // namespaces replace per process: such launches (agents) get a bubblewrap.
                if let Some(namespaces) = (!terminal && launch.binds.is_empty())
                    .then(|| self.resident(bwrap, view))
                    .transpose()?
                    .flatten()
                {
                    return Ok(Plan {
                        program: program.clone(),
                        args: args.to_vec(),
                        env,
                        cwd: PathBuf::from(launch.cwd),
                        acquires_terminal: false,
                        wrappers: BWRAP_WRAPPERS,
                        user: self.user,
                        cgroup: self.vm_cgroup().cloned(),
                        net: None,
                        resident: Some(namespaces),
                    });
                }
                let mut bwrap_args = self.bwrap_args(view, launch, &env);
                bwrap_args.push("--".into());
                if terminal {
                    bwrap_args.extend(["setsid", "--ctty", "--wait"].map(String::from));
                }
                bwrap_args.extend(launch.argv.iter().map(|arg| {
                    let bound = launch.binds.iter().any(|bind| {
                        arg.strip_prefix(bind.as_str())
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                    });
                    if bound {
                        format!("{HOST_BINDS}{arg}")
                    } else {
                        arg.clone()
                    }
                }));
                Ok(Plan {
                    program: path(bwrap),
                    args: bwrap_args,
                    // bubblewrap sets the process's environment itself (`--setenv`).
                    env: BTreeMap::new(),
                    cwd: view.root.clone(),
                    acquires_terminal: terminal,
                    wrappers: BWRAP_WRAPPERS,
                    user: self.user,
                    cgroup: self.vm_cgroup().cloned(),
                    net: self.vm_net().cloned(),
                    resident: None,
                })
            }
        }
    }

    /// The resident namespaces for `view`, built unless they are the last view's.
    fn resident(
        &self,
        bwrap: &Path,
        view: &HostView,
    ) -> Result<Option<Arc<Namespaces>>, ActorError> {
        let mut last = self.resident.lock().unwrap_or_else(PoisonError::into_inner);
        // Namespaces bind the root's directory, not its path: a restored root is another
        // directory at the same path.
        let root = root_id(&view.root);
        if let Some((seen, seen_root, namespaces)) = &*last
            && seen == view
            && *seen_root == root
        {
            return Ok(namespaces.clone());
        }
        let namespaces = Namespaces::build(bwrap, &self.view_args(view), self.user, self.vm_net())?
            .map(Arc::new);
        *last = Some((view.clone(), root, namespaces.clone()));
        Ok(namespaces)
    }

    /// bubblewrap's arguments for one process: the view's, its host binds (after the view's
    /// private `/tmp`, which holds them), then its environment and cwd.
    fn bwrap_args(
        &self,
        view: &HostView,
        launch: &Launch<'_>,
        env: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let mut args = self.view_args(view);
        for host_path in launch.binds {
            args.extend([
                "--ro-bind".into(),
                host_path.clone(),
                format!("{HOST_BINDS}{host_path}"),
            ]);
        }
        args.push("--clearenv".into());
        for (key, value) in env {
            args.extend(["--setenv".into(), key.clone(), value.clone()]);
        }
        args.extend(["--chdir".into(), launch.cwd.to_owned()]);
        args
    }

    /// bubblewrap's arguments for a sandbox over `view`: its mounts and namespaces.
    fn view_args(&self, view: &HostView) -> Vec<String> {
        let mut args: Vec<String> = vec!["--bind".into(), path(&view.root), "/".into()];
        for dir in SYSTEM_DIRS {
            args.extend(["--ro-bind-try".into(), (*dir).into(), (*dir).into()]);
        }
        for bind in &view.mounts {
            let flag = if bind.read_only {
                "--ro-bind"
            } else {
                "--bind"
            };
            args.extend([flag.into(), path(&bind.host_dir), bind.vm_path.clone()]);
        }
        if self.network {
            for file in etc::NETWORK_FILES {
                args.extend(["--ro-bind-try".into(), (*file).into(), (*file).into()]);
            }
        }
        // bubblewrap covers `/proc/sys` only where its user may write it; it is always covered.
        args.extend(
            [
                "--proc",
                "/proc",
                "--ro-bind",
                "/proc/sys",
                "/proc/sys",
                "--dev",
                "/dev",
                "--tmpfs",
                "/tmp",
            ]
            .into_iter()
            .map(String::from),
        );
        // Root inside a user namespace of bubblewrap's own user; `--uid 0` keeps it from
        // nesting a second one, which would own nothing a resident process could join.
        args.extend(
            [
                "--unshare-all",
                "--unshare-user",
                "--hostname",
                etc::HOSTNAME,
                "--uid",
                "0",
                "--gid",
                "0",
                "--die-with-parent",
                "--new-session",
                "--cap-drop",
                "ALL",
            ]
            .into_iter()
            .map(String::from),
        );
        // The VM's own network is the one bubblewrap starts in.
        if self.network || self.vm_net().is_some() {
            args.push("--share-net".into());
        }
        args
    }
}

/// A directory's device and inode.
type RootId = (u64, u64);

/// Resident namespaces, the view they show and the root directory they bind.
type Resident = (HostView, Option<RootId>, Option<Arc<Namespaces>>);

fn root_id(dir: &Path) -> Option<RootId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir)
        .ok()
        .map(|meta| (meta.dev(), meta.ino()))
}

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}
