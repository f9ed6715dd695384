//! Where VM processes run: under bubblewrap, seeing exactly the VM's tree (its root at `/`
//! and its mounts at their paths), the host's system directories read-only, their own
//! `/proc`, `/dev` and `/tmp`, no host home and no network unless the VM allows it. Without
//! bubblewrap the VM refuses to run processes unless configured for `sandbox: "none"`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::fs::HostView;
use crate::runtime::ActorError;

/// Host directories a sandboxed process sees read-only, when the host has them.
const SYSTEM_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"];

/// Where a sandboxed process sees the host paths of [`Launch::binds`]: inside its private
/// `/tmp`, so that binding them creates no mount points in the VM's own tree.
pub const HOST_BINDS: &str = "/tmp/.agentos-host";

/// The `PATH` a sandboxed process starts with unless the caller sets one.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SandboxInfo {
    /// The configured mode.
    pub mode: SandboxMode,
    /// Whether processes can run: false when bubblewrap is configured but not installed.
    pub available: bool,
    /// `bwrap --version`, when bubblewrap is in use.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether processes may use the network.
    pub network: bool,
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
/// a sandboxed process), its exact environment and host working directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub program: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    /// For a terminal process: whether it takes its controlling terminal itself, inside the
    /// sandbox, so the host must start it in a session without one.
    pub acquires_terminal: bool,
}

impl Plan {
    /// A tokio command for the plan, in a process group of its own so that a timeout or kill
    /// reaches every descendant, killed if dropped.
    pub fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .process_group(0)
            .kill_on_drop(true);
        cmd
    }
}

pub struct Sandbox {
    mode: SandboxMode,
    network: bool,
    /// The bubblewrap binary and its version, when found.
    bwrap: Option<(PathBuf, String)>,
}

impl Sandbox {
    /// Looks for bubblewrap on `PATH` when the mode needs it.
    pub fn detect(mode: SandboxMode, network: bool) -> Self {
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
        Self {
            mode,
            network,
            bwrap,
        }
    }

    pub fn info(&self) -> SandboxInfo {
        SandboxInfo {
            mode: self.mode,
            available: self.mode == SandboxMode::None || self.bwrap.is_some(),
            version: self.bwrap.as_ref().map(|(_, v)| v.clone()),
            network: self.network || self.mode == SandboxMode::None,
        }
    }

    /// How to start `launch` in this sandbox over `view`. A sandboxed process always gets a
    /// session of its own inside the sandbox; a `terminal` one then takes its PTY as
    /// controlling terminal there (`setsid --ctty`), so that its process groups, job control
    /// and ^C live inside the sandbox's pid namespace and bubblewrap stays out of them.
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
            ("HOME".to_owned(), "/".to_owned()),
        ]);
        env.extend(launch.env.clone());
        match (self.mode, &self.bwrap) {
            (SandboxMode::None, _) => Ok(Plan {
                program: program.clone(),
                args: args.to_vec(),
                env,
                cwd: view.root.join(launch.cwd.trim_start_matches('/')),
                acquires_terminal: false,
            }),
            (SandboxMode::Bubblewrap, None) => Err(ActorError::unsupported(
                "bubblewrap (bwrap) is not installed, so this VM cannot run processes; install it (apt-get install bubblewrap) or start the host with --sandbox none",
            )),
            (SandboxMode::Bubblewrap, Some((bwrap, _))) => {
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
                })
            }
        }
    }

    fn bwrap_args(
        &self,
        view: &HostView,
        launch: &Launch<'_>,
        env: &BTreeMap<String, String>,
    ) -> Vec<String> {
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
        args.extend(
            ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
                .into_iter()
                .map(String::from),
        );
        for host_path in launch.binds {
            args.extend([
                "--ro-bind".into(),
                host_path.clone(),
                format!("{HOST_BINDS}{host_path}"),
            ]);
        }
        args.extend(
            [
                "--unshare-all",
                "--die-with-parent",
                "--new-session",
                "--clearenv",
            ]
            .into_iter()
            .map(String::from),
        );
        if self.network {
            args.push("--share-net".into());
        }
        for (key, value) in env {
            args.extend(["--setenv".into(), key.clone(), value.clone()]);
        }
        args.extend(["--chdir".into(), launch.cwd.to_owned()]);
        args
    }
}

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extra host paths land under `HOST_BINDS`, after the private `/tmp` they live in, and
    /// argv entries naming them (or paths inside them) follow; other arguments stay as given.
    #[test]
    fn binds_are_mounted_in_tmp_and_argv_follows_them() {
        let sandbox = Sandbox {
            mode: SandboxMode::Bubblewrap,
            network: false,
            bwrap: Some((PathBuf::from("bwrap"), "test".into())),
        };
        let view = HostView {
            root: PathBuf::from("/data/vm/root"),
            mounts: Vec::new(),
        };
        let argv = [
            "/opt/agent/bin/run",
            "/opt/agent/lib/main.py",
            "/opt/agentx",
            "--x",
        ]
        .map(String::from);
        let binds = ["/opt/agent".to_owned()];
        let launch = Launch {
            argv: &argv,
            cwd: "/",
            env: &BTreeMap::new(),
            binds: &binds,
        };
        let args = sandbox.plan(&view, &launch, false).unwrap().args;
        let at = |needle: &[&str]| args.windows(needle.len()).position(|w| w == needle);
        let tmp = at(&["--tmpfs", "/tmp"]).unwrap();
        let bind = at(&["--ro-bind", "/opt/agent", "/tmp/.agentos-host/opt/agent"]).unwrap();
        assert!(tmp < bind);
        let command = &args[args.iter().position(|a| a == "--").unwrap() + 1..];
        assert_eq!(
            command,
            [
                "/tmp/.agentos-host/opt/agent/bin/run",
                "/tmp/.agentos-host/opt/agent/lib/main.py",
                "/opt/agentx",
                "--x"
            ]
        );
    }
}
