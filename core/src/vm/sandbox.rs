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

    /// The command that runs `launch` in this sandbox over `view`.
    pub fn command(
        &self,
        view: &HostView,
        launch: &Launch<'_>,
    ) -> Result<tokio::process::Command, ActorError> {
        let Some((program, args)) = launch.argv.split_first() else {
            return Err(ActorError::invalid_input("argv must name a program"));
        };
        let mut env = BTreeMap::from([
            ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
            ("HOME".to_owned(), "/".to_owned()),
        ]);
        env.extend(launch.env.clone());
        let mut cmd = match (self.mode, &self.bwrap) {
            (SandboxMode::None, _) => {
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(args)
                    .current_dir(view.root.join(launch.cwd.trim_start_matches('/')))
                    .env_clear()
                    .envs(&env);
                cmd
            }
            (SandboxMode::Bubblewrap, None) => {
                return Err(ActorError::unsupported(
                    "bubblewrap (bwrap) is not installed, so this VM cannot run processes; install it (apt-get install bubblewrap) or start the host with --sandbox none",
                ));
            }
            (SandboxMode::Bubblewrap, Some((bwrap, _))) => {
                let mut cmd = tokio::process::Command::new(bwrap);
                cmd.args(self.bwrap_args(view, launch.cwd, &env))
                    .arg("--")
                    .arg(program)
                    .args(args)
                    .env_clear();
                cmd
            }
        };
        // Its own process group, so that a timeout or kill reaches every descendant.
        cmd.process_group(0).kill_on_drop(true);
        Ok(cmd)
    }

    fn bwrap_args(
        &self,
        view: &HostView,
        cwd: &str,
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
        args.extend(["--chdir".into(), cwd.to_owned()]);
        args
    }
}

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}
