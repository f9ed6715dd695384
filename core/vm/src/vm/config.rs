//! A VM's configuration: how it runs its processes and what they may use, which agents and
//! toolkits it has, and where its state is kept.

use super::network::PreviewLimits;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::cron::ScheduleDriver;
use super::fs::HostPathPolicy;
use super::identity::VmUser;
use super::sandbox::{SandboxMode, VmLimits};
use super::session::AgentConfig;
use super::toolkit::ToolkitSpec;

/// How a VM runs its processes and which agents it can start. Set by the code that hosts
/// it, never over the wire.
#[derive(Clone, Default)]
pub struct VmConfig {
    pub sandbox: SandboxMode,
    /// Whether sandboxed processes may use the network.
    pub allow_network: bool,
    /// The host user a root host runs the VM's processes as and keeps its files under (root
    /// inside the sandbox); a host that is not root uses its own.
    pub sandbox_user: VmUser,
    /// What all the VM's processes together may use (see `sandboxInfo` for whether the
    /// host could set it).
    pub limits: VmLimits,
    /// How many shells, and spawned processes, may run in the VM at once: each holds
    /// descriptors and a task of the host's.
    pub quotas: VmQuotas,
    /// The largest answer an action may give: the host's message limit (unset: the largest
    /// any host allows). `readFile` refuses a larger file from its size, unread; `exec` keeps
    /// at most half of it of each stream, so that its result always fits.
    pub answer_limit: Option<u64>,
    /// The agents `createSession` can start, by id.
    pub agents: BTreeMap<String, AgentConfig>,
    /// The host directories `hostDir` mounts and overlay lowers may use (none by default;
    /// never the VM's own data directory).
    pub host_paths: HostPathPolicy,
    /// The SQLite file that keeps session events and cron jobs: the host's, shared by its
    /// VMs (each under the name of its data directory). Unset, each VM keeps a
    /// `state.sqlite` of its own.
    pub state_store: Option<PathBuf>,
    /// The clock cron runs on from the start (tokio timers when unset). Jobs restored from
    /// the store that fell due meanwhile fire once on it as soon as the VM opens, so a
    /// durable driver that wakes a sleeping actor at a job's instant gets that job run.
    pub schedule_driver: Option<Arc<dyn ScheduleDriver>>,
    /// Toolkits the VM starts with, as if registered by `registerToolkit`.
    pub toolkits: Vec<ToolkitSpec>,
    /// The `agentos` binary, whose `toolkit-mcp` subcommand connects an agent to the VM's
    /// toolkits (the MCP server added to every session while the VM has toolkits). `agentos
    /// serve` sets itself; without it, sessions get no toolkit server.
    pub toolkit_proxy: Option<PathBuf>,
    /// How long signed preview URLs live.
    pub preview: PreviewLimits,
}

/// Host-side quotas of one VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmQuotas {
    pub max_shells: usize,
    pub max_processes: usize,
    /// Bytes the VM's uploads not yet restored may hold together (on the host's disk).
    pub max_upload_bytes: u64,
    /// Bytes of output each process and shell keeps for clients that reconnect
    /// (`readProcessOutput`, `readShellOutput`), in memory.
    pub output_log_bytes: usize,
}

impl Default for VmQuotas {
    fn default() -> Self {
        Self {
            max_shells: 64,
            max_processes: 256,
            max_upload_bytes: 1 << 30,
            output_log_bytes: 256 << 10,
        }
    }
}
