//! The toolkits as a stdio MCP server of every session while the VM has toolkits: `agentos
//! toolkit-mcp <socket>` in the agent's sandbox, with the `agentos` binary and the socket's
//! directory bound into it. The socket opens for the first session that needs it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value as Json;

use super::{McpEndpoint, Toolkits};
use crate::runtime::ActorError;
use crate::vm::sandbox::Sandbox;

/// What a session adds for the toolkits.
pub(crate) struct SessionServer {
    /// The entry of the session's `mcpServers`.
    pub entry: Json,
    /// The host paths the agent's sandbox binds for it.
    pub binds: [String; 2],
}

/// Hands the VM's toolkits to its sessions' agents.
pub(crate) struct ToolkitServer {
    toolkits: Arc<Toolkits>,
    /// The `agentos` binary (`VmConfig::toolkit_proxy`); without it, sessions get no server.
    proxy: Option<PathBuf>,
    endpoint: Mutex<Option<McpEndpoint>>,
}

impl ToolkitServer {
    pub(crate) fn new(toolkits: Arc<Toolkits>, proxy: Option<PathBuf>) -> Self {
        Self {
            toolkits,
            proxy,
            endpoint: Mutex::default(),
        }
    }

    /// The server of a session whose agent runs in `sandbox`; `None` while there are no
    /// toolkits.
    pub(crate) fn for_session(
        &self,
        sandbox: &Sandbox,
    ) -> Result<Option<SessionServer>, ActorError> {
        let Some(proxy) = self.proxy.as_ref().filter(|_| !self.toolkits.is_empty()) else {
            return Ok(None);
        };
        let mut endpoint = self.endpoint.lock().unwrap_or_else(PoisonError::into_inner);
        let endpoint = match &mut *endpoint {
            Some(endpoint) => endpoint,
            slot => slot.insert(
                McpEndpoint::start(self.toolkits.clone(), sandbox.user()).map_err(|e| {
                    ActorError::internal(format!("the toolkits' MCP socket did not open: {e}"))
                })?,
            ),
        };
        let proxy = proxy.to_string_lossy().into_owned();
        let socket = endpoint.socket().to_string_lossy().into_owned();
        let entry = serde_json::json!({
            "name": "agentos-toolkits",
            "command": sandbox.bound_path(&proxy),
            "args": ["toolkit-mcp", sandbox.bound_path(&socket)],
            "env": [],
        });
        Ok(Some(SessionServer {
            entry,
            binds: [proxy, endpoint.dir().to_string_lossy().into_owned()],
        }))
    }
}
