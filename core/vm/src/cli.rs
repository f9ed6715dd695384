//! The command line every host binary shares (`agentos serve`, `agentos-rivet serve`, an app's
//! own binary): how its VMs run and its message limits, the hidden `toolkit-mcp` pump, logging
//! and signals. One definition, so every host takes the same flags; it lives beside the VM it
//! configures, so a host that is not the embedded one does not compile the embedded server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::runtime::{ActorError, ActorEvents, Limits};
use crate::vm::fs::HostPathPolicy;
use crate::vm::identity::VmUser;
use crate::vm::sandbox::{SandboxMode, VmLimits};
use crate::vm::session::AgentConfig;
use crate::{VmConfig, VmQuotas};

/// How a host opens one actor's surface: from its data directory, the VM configuration of
/// the flags, and the sink of its own events. `AgentOs::open` is one.
pub trait Open<S>:
    Fn(&Path, VmConfig, ActorEvents) -> Result<S, ActorError> + Send + Sync + 'static
{
}
impl<S, F: Fn(&Path, VmConfig, ActorEvents) -> Result<S, ActorError> + Send + Sync + 'static>
    Open<S> for F
{
}

/// How the host's VMs run: their sandbox, network, and the agents sessions can start.
#[derive(Debug, Clone, clap::Args)]
pub struct VmArgs {
    /// How VM processes are isolated: `bubblewrap`, or `none` (no isolation at all).
    #[arg(long, value_enum, default_value_t = Sandbox::Bubblewrap)]
    pub sandbox: Sandbox,
    /// Let sandboxed processes use the network.
    #[arg(long)]
    pub allow_network: bool,
    /// When the host runs as root: the unprivileged host user (`UID:GID`) that is root inside
    /// the sandbox and owns the VMs' files. A host run as another user uses its own.
    #[arg(long, value_name = "UID:GID", default_value = "65534:65534")]
    pub sandbox_user: VmUser,
    /// Most processes (and threads) one VM may have at once.
    #[arg(long, value_name = "N", default_value_t = VmLimits::default().pids_max)]
    pub vm_pids_max: u32,
    /// Most memory one VM's processes may use together, in MiB; past it the kernel kills one.
    #[arg(long, value_name = "MIB", default_value_t = VmLimits::default().memory_max_mib)]
    pub vm_memory_max_mib: u32,
    /// One VM's share of CPU time against the others' (100 = equal; 1–10000).
    #[arg(long, value_name = "WEIGHT", default_value_t = VmLimits::default().cpu_weight,
          value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub vm_cpu_weight: u32,
    /// Most shells one VM may have open at once.
    #[arg(long, value_name = "N", default_value_t = VmQuotas::default().max_shells)]
    pub vm_max_shells: usize,
    /// Most spawned processes one VM may have running at once.
    #[arg(long, value_name = "N", default_value_t = VmQuotas::default().max_processes)]
    pub vm_max_processes: usize,
    /// Most bytes one VM's uploads may hold before they are restored, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = VmQuotas::default().max_upload_bytes >> 20)]
    pub vm_max_upload_mib: u64,
    /// Output each process and shell keeps for clients that reconnect, in KiB.
    #[arg(long, value_name = "KIB", default_value_t = VmQuotas::default().output_log_bytes >> 10)]
    pub vm_output_log_kib: usize,
    /// An agent `createSession` can start, as `id=command [args…]` (split on spaces);
    /// repeat for more. An absolute command is bound read-only into the sandbox.
    #[arg(long = "agent", value_name = "ID=COMMAND")]
    pub agents: Vec<String>,
    /// A JSON file of agents by id: `{ "id": { "command", "args"?, "env"?,
    /// "description"?, "binds"? } }`.
    #[arg(long)]
    pub agents_file: Option<PathBuf>,
    /// Host directories that `hostDir` mounts and overlay lowers may use. Boxed: the
    /// command enums of the host binaries hold these flags inline.
    #[command(flatten)]
    pub host_paths: Box<HostPathArgs>,
}

/// The host directories a VM's `hostDir` mounts and overlay lowers may use.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HostPathArgs {
    /// A host directory that `hostDir` mounts and overlay lowers may use, with everything
    /// below it (symlinks resolved); repeat for more. Without one, every host path is
    /// refused. Never the data directory, nor anything inside it or containing it.
    #[arg(long = "allow-host-path", value_name = "DIR")]
    pub allow: Vec<PathBuf>,
    /// As --allow-host-path, read-only: a `hostDir` mount there must set `readOnly` (an
    /// overlay never writes its lower).
    #[arg(long = "allow-host-path-ro", value_name = "DIR")]
    pub allow_ro: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Sandbox {
    Bubblewrap,
    None,
}

/// A flag or file that does not describe a VM.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    AgentsFileUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    AgentsFileInvalid {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("--agent {0}: expected ID=COMMAND with a command")]
    AgentFlag(String),
    #[error("agent {id}: bind {bind} is not an absolute path")]
    RelativeBind { id: String, bind: String },
    #[error("{flag} {path}: {source}")]
    HostPath {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl VmArgs {
    /// The VM configuration these flags describe, with session events and cron jobs kept in
    /// `state_store`, a file of the host's data directory (which no mount may reach). Agents
    /// reach toolkits through this very binary's [`ToolkitMcp`].
    pub fn config(&self, state_store: PathBuf) -> Result<VmConfig, ConfigError> {
        Ok(VmConfig {
            host_paths: self.host_paths(&state_store)?,
            sandbox: match self.sandbox {
                Sandbox::Bubblewrap => SandboxMode::Bubblewrap,
                Sandbox::None => SandboxMode::None,
            },
            allow_network: self.allow_network,
            sandbox_user: self.sandbox_user,
            limits: VmLimits {
                pids_max: self.vm_pids_max,
                memory_max_mib: self.vm_memory_max_mib,
                cpu_weight: self.vm_cpu_weight,
            },
            quotas: VmQuotas {
                max_shells: self.vm_max_shells,
                max_processes: self.vm_max_processes,
                max_upload_bytes: self.vm_max_upload_mib << 20,
                output_log_bytes: self.vm_output_log_kib << 10,
            },
            agents: agent_registry(&self.agents, self.agents_file.as_deref())?,
            state_store: Some(state_store),
            toolkit_proxy: std::env::current_exe().ok(),
            ..VmConfig::default()
        })
    }
}

impl VmArgs {
    /// The directories of `--allow-host-path` and `--allow-host-path-ro`, each of which must
    /// exist; the data directory holding `state_store` is protected.
    fn host_paths(&self, state_store: &Path) -> Result<HostPathPolicy, ConfigError> {
        let mut policy = HostPathPolicy::default();
        fn flagged(flag: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError {
            let path = path.to_owned();
            move |source| ConfigError::HostPath { flag, path, source }
        }
        for (flag, dirs, read_only) in [
            ("--allow-host-path", &self.host_paths.allow, false),
            ("--allow-host-path-ro", &self.host_paths.allow_ro, true),
        ] {
            for dir in dirs {
                policy.allow(dir, read_only).map_err(flagged(flag, dir))?;
            }
        }
        let data_dir = state_store.parent().unwrap_or(Path::new("."));
        policy
            .protect(data_dir)
            .map_err(flagged("--data-dir", data_dir))?;
        Ok(policy)
    }
}

/// The id of the agent every host binary carries ([`BuiltinAgent`]).
pub const BUILTIN_AGENT: &str = "builtin";

/// The presets and the built-in agent, then the agents of `--agents-file`, then those of
/// `--agent`, each replacing an agent of the same id.
fn agent_registry(
    flags: &[String],
    file: Option<&Path>,
) -> Result<BTreeMap<String, AgentConfig>, ConfigError> {
    let mut agents = crate::vm::session::presets();
    if let Ok(exe) = std::env::current_exe() {
        agents.insert(
            BUILTIN_AGENT.to_owned(),
            AgentConfig {
                command: exe.to_string_lossy().into_owned(),
                args: vec!["builtin-agent".to_owned()],
                description: Some(
                    "The host's own deterministic agent: echoes prompts, asks for permission when a prompt says `permission` (see its docs)".to_owned(),
                ),
                ..AgentConfig::default()
            },
        );
    }
    if let Some(path) = file {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::AgentsFileUnreadable {
            path: path.to_owned(),
            source,
        })?;
        let listed: BTreeMap<String, AgentConfig> =
            serde_json::from_slice(&bytes).map_err(|source| ConfigError::AgentsFileInvalid {
                path: path.to_owned(),
                source,
            })?;
        agents.extend(listed);
    }
    for flag in flags {
        let (id, command) = flag
            .split_once('=')
            .ok_or_else(|| ConfigError::AgentFlag(flag.clone()))?;
        let mut words = command.split_whitespace().map(str::to_owned);
        let command = words
            .next()
            .ok_or_else(|| ConfigError::AgentFlag(flag.clone()))?;
        let args: Vec<String> = words.collect();
        // A script named in the arguments (`python3 /srv/agent.py`) is bound like the command.
        let binds = args
            .iter()
            .filter(|arg| arg.starts_with('/') && Path::new(arg).is_file())
            .cloned()
            .collect();
        agents.insert(
            id.to_owned(),
            AgentConfig {
                command,
                args,
                binds,
                ..AgentConfig::default()
            },
        );
    }
    for (id, agent) in &agents {
        if let Some(bind) = agent.binds.iter().find(|bind| !bind.starts_with('/')) {
            return Err(ConfigError::RelativeBind {
                id: id.clone(),
                bind: bind.clone(),
            });
        }
    }
    Ok(agents)
}

/// The host's limits on what crosses the wire.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Largest message in either direction, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_message_bytes: u32,
    /// How long a bridge request waits for a client's answer, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub bridge_timeout_ms: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits::with_message_bytes(self.max_message_bytes)
    }

    pub fn bridge_timeout(&self) -> Duration {
        Duration::from_millis(self.bridge_timeout_ms)
    }
}

/// The hidden `toolkit-mcp <socket>` of every host binary: a sandboxed agent launches the
/// binary that hosts its VM as the stdio MCP server of the VM's toolkits
/// ([`crate::VmConfig::toolkit_proxy`]), a byte pump to the VM's socket.
#[derive(Debug, Clone, clap::Args)]
pub struct ToolkitMcp {
    socket: PathBuf,
}

impl ToolkitMcp {
    pub async fn run(self) -> std::io::Result<()> {
        crate::vm::toolkit::pump(&self.socket)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.socket.display())))
    }
}

/// The hidden `builtin-agent` of every host binary: the agent registered as
/// [`BUILTIN_AGENT`], on stdio (`agentos_builtin_agent`).
#[derive(Debug, Clone, clap::Args)]
pub struct BuiltinAgent {
    /// Do not offer ACP `session/load`.
    #[arg(long)]
    no_load_session: bool,
}

impl BuiltinAgent {
    pub async fn run(self) -> std::io::Result<()> {
        agentos_builtin_agent::serve(!self.no_load_session)
            .await
            .map_err(|err| std::io::Error::other(err.to_string()))
    }
}

/// Logs to stderr, filtered by `RUST_LOG`: stdout carries the lines tests and scripts read.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
}

/// Raises this process's soft limit on open files to its hard limit: every connection, VM,
/// process and shell holds descriptors, and the usual soft limit (1,024) is reached long
/// before the memory or the CPU are. Returns the new limit.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let limit = rlimit::increase_nofile_limit(u64::MAX)?;
    tracing::debug!(limit, "open file limit");
    Ok(limit)
}

/// Resolves on SIGTERM or Ctrl-C: how every host is told to stop.
pub async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        ended = tokio::signal::ctrl_c() => ended,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(agents: &[&str]) -> VmArgs {
        VmArgs {
            sandbox: Sandbox::None,
            allow_network: false,
            sandbox_user: VmUser::default(),
            vm_pids_max: 1,
            vm_memory_max_mib: 1,
            vm_cpu_weight: 1,
            vm_max_shells: 1,
            vm_max_processes: 1,
            vm_max_upload_mib: 1,
            vm_output_log_kib: 1,
            agents: agents.iter().map(|s| (*s).to_owned()).collect(),
            agents_file: None,
            host_paths: Box::default(),
        }
    }

    #[test]
    fn agent_flags_split_into_command_and_arguments() {
        let config = args(&["echo=/bin/echo a  b"])
            .config(PathBuf::from("/s"))
            .unwrap();
        let echo = &config.agents["echo"];
        assert_eq!(
            (echo.command.as_str(), &echo.args[..]),
            ("/bin/echo", &["a".to_owned(), "b".to_owned()][..])
        );
    }

    #[test]
    fn every_host_has_the_presets_and_its_builtin_agent_and_flags_bind_the_scripts_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("agent.py");
        std::fs::write(&script, "").unwrap();
        let script = script.to_str().unwrap();
        let flag = format!("claude=python3 {script} --root /work");
        let config = args(&[&flag]).config(PathBuf::from("/s")).unwrap();
        let builtin = &config.agents[BUILTIN_AGENT];
        assert_eq!(
            builtin.command,
            std::env::current_exe().unwrap().to_str().unwrap()
        );
        assert_eq!(builtin.args, ["builtin-agent"]);
        assert!(config.agents.contains_key("gemini"));
        // The flag replaces the preset of its id; of its arguments, only the host file is bound.
        let claude = &config.agents["claude"];
        assert_eq!(
            (claude.command.as_str(), &claude.binds[..]),
            ("python3", &[script.to_owned()][..])
        );
    }

    #[test]
    fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
        // As a shell would start the host (nextest runs each test in a process of its own).
        let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
        rlimit::Resource::NOFILE.set(hard.min(1024), hard).unwrap();
        let limit = raise_fd_limit().unwrap();
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        assert_eq!((limit, soft), (hard, hard));
    }

    #[test]
    fn host_path_flags_allow_directories_and_protect_the_data_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let (rw, ro, data) = (base.join("rw"), base.join("ro"), base.join("data"));
        for dir in [&rw, &ro] {
            std::fs::create_dir(dir).unwrap();
        }
        let mut vm = args(&[]);
        vm.host_paths.allow = vec![rw.clone(), PathBuf::from("/")];
        vm.host_paths.allow_ro = vec![ro.clone()];
        let config = vm.config(data.join("host.sqlite")).unwrap();
        let allowed: Vec<_> = config
            .host_paths
            .allowed()
            .iter()
            .map(|a| (a.path.clone(), a.read_only))
            .collect();
        assert_eq!(
            allowed,
            [(rw, false), (PathBuf::from("/"), false), (ro, true)]
        );
        vm.host_paths.allow_ro = vec![base.join("missing")];
        assert!(matches!(
            vm.config(data.join("host.sqlite")),
            Err(ConfigError::HostPath {
                flag: "--allow-host-path-ro",
                ..
            })
        ));
        assert!(
            args(&[])
                .config(data.join("host.sqlite"))
                .unwrap()
                .host_paths
                .allowed()
                .is_empty()
        );
    }

    #[test]
    fn malformed_agent_flags_are_refused() {
        for flag in ["echo", "echo=", "echo=  "] {
            assert!(matches!(
                args(&[flag]).config(PathBuf::from("/s")),
                Err(ConfigError::AgentFlag(f)) if f == flag
            ));
        }
    }
}
