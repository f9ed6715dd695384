//! The command-line flags every host binary shares (`agentos serve`, `agentos-rivet serve`):
//! how its VMs run and its message limits. One definition, so both hosts take the same flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::VmConfig;
use crate::runtime::Limits;
use crate::vm::sandbox::SandboxMode;
use crate::vm::session::AgentConfig;

/// How the host's VMs run: their sandbox, network, and the agents sessions can start.
#[derive(Debug, Clone, clap::Args)]
pub struct VmArgs {
    /// How VM processes are isolated: `bubblewrap`, or `none` (no isolation at all).
    #[arg(long, value_enum, default_value_t = Sandbox::Bubblewrap)]
    pub sandbox: Sandbox,
    /// Let sandboxed processes use the network.
    #[arg(long)]
    pub allow_network: bool,
    /// An agent `createSession` can start, as `id=command [args…]` (split on spaces);
    /// repeat for more. An absolute command is bound read-only into the sandbox.
    #[arg(long = "agent", value_name = "ID=COMMAND")]
    pub agents: Vec<String>,
    /// A JSON file of agents by id: `{ "id": { "command", "args"?, "env"?,
    /// "description"?, "binds"? } }`.
    #[arg(long)]
    pub agents_file: Option<PathBuf>,
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
}

impl VmArgs {
    /// The VM configuration these flags describe, with session events kept in `session_store`.
    pub fn config(&self, session_store: PathBuf) -> Result<VmConfig, ConfigError> {
        Ok(VmConfig {
            sandbox: match self.sandbox {
                Sandbox::Bubblewrap => SandboxMode::Bubblewrap,
                Sandbox::None => SandboxMode::None,
            },
            allow_network: self.allow_network,
            agents: agent_registry(&self.agents, self.agents_file.as_deref())?,
            session_store: Some(session_store),
        })
    }
}

/// The agents of `--agents-file`, then those of `--agent`.
fn agent_registry(
    flags: &[String],
    file: Option<&Path>,
) -> Result<BTreeMap<String, AgentConfig>, ConfigError> {
    let mut agents: BTreeMap<String, AgentConfig> = match file {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|source| ConfigError::AgentsFileUnreadable {
                    path: path.to_owned(),
                    source,
                })?;
            serde_json::from_slice(&bytes).map_err(|source| ConfigError::AgentsFileInvalid {
                path: path.to_owned(),
                source,
            })?
        }
        None => BTreeMap::new(),
    };
    for flag in flags {
        let (id, command) = flag
            .split_once('=')
            .ok_or_else(|| ConfigError::AgentFlag(flag.clone()))?;
        let mut words = command.split_whitespace().map(str::to_owned);
        let command = words
            .next()
            .ok_or_else(|| ConfigError::AgentFlag(flag.clone()))?;
        agents.insert(
            id.to_owned(),
            AgentConfig {
                command,
                args: words.collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(agents: &[&str]) -> VmArgs {
        VmArgs {
            sandbox: Sandbox::None,
            allow_network: false,
            agents: agents.iter().map(|s| (*s).to_owned()).collect(),
            agents_file: None,
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
    fn malformed_agent_flags_are_refused() {
        for flag in ["echo", "echo=", "echo=  "] {
            assert!(matches!(
                args(&[flag]).config(PathBuf::from("/s")),
                Err(ConfigError::AgentFlag(f)) if f == flag
            ));
        }
    }
}
