//! The toolkits as an MCP server (rmcp). Sandboxed agents have no network, so the VM serves
//! MCP on a Unix socket in a private directory, one MCP session per connection; an agent
//! launches [`pump`] (`agentos toolkit-mcp <socket>`) as a stdio MCP server, with the pump's
//! binary and the socket's directory bound into its sandbox.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value as Json;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::Toolkits;
use crate::vm::identity::VmUser;

const SOCKET: &str = "mcp.sock";

/// One MCP session over the VM's toolkits.
struct Server(Arc<Toolkits>);

impl ServerHandler for Server {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "agentos-toolkits",
                env!("CARGO_PKG_VERSION"),
            ))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self
            .0
            .tools()
            .into_iter()
            .map(|(name, description, schema)| Tool::new(name, description, Arc::new(schema)))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let input = Json::Object(request.arguments.unwrap_or_default());
        // Tool failures are results the agent reads, not protocol errors it cannot.
        let result = match self.0.call(&request.name, input).await {
            Ok(done) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(done.text)]);
                result.structured_content = done.data;
                result
            }
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        Ok(result.into())
    }
}

/// The listening socket of a VM's MCP server, in a private directory removed on drop.
pub struct McpEndpoint {
    dir: tempfile::TempDir,
    accept: JoinHandle<()>,
}

impl McpEndpoint {
    /// Listens for agents' pumps; each connection is an MCP session over `toolkits`. The
    /// directory and socket belong to `user`, the VM's host user when the host is root.
    pub fn start(toolkits: Arc<Toolkits>, user: Option<VmUser>) -> std::io::Result<Self> {
        // Socket paths are limited to ~108 bytes: a short temp dir, not the VM's data dir.
        let dir = tempfile::Builder::new().prefix("agentos-mcp-").tempdir()?;
        let listener = UnixListener::bind(dir.path().join(SOCKET))?;
        if let Some(user) = user {
            user.adopt(dir.path())?;
        }
        let accept = tokio::spawn(async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of descriptors, say: wait rather than spin.
                        tracing::warn!(%err, "toolkit MCP socket accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let server = Server(toolkits.clone());
                tokio::spawn(async move {
                    match server.serve(stream).await {
                        Ok(running) => drop(running.waiting().await),
                        Err(err) => tracing::warn!(%err, "toolkit MCP session did not start"),
                    }
                });
            }
        });
        Ok(Self { dir, accept })
    }

    /// The directory holding the socket: what a sandbox binds.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join(SOCKET)
    }
}

impl Drop for McpEndpoint {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies stdin to the socket and the socket to stdout, so that an agent can launch the
/// VM's MCP server as a stdio one. Ends when the server closes the connection.
pub async fn pump(socket: &Path) -> std::io::Result<()> {
    let (mut from_vm, mut to_vm) = UnixStream::connect(socket).await?.into_split();
    let upstream = async {
        tokio::io::copy(&mut tokio::io::stdin(), &mut to_vm).await?;
        to_vm.shutdown().await
    };
    let mut stdout = tokio::io::stdout();
    let downstream = tokio::io::copy(&mut from_vm, &mut stdout);
    tokio::pin!(downstream);
    tokio::select! {
        done = &mut downstream => done.map(drop),
        // The agent closed its end: let the server's last answers through.
        done = upstream => {
            done?;
            downstream.await.map(drop)
        }
    }
}
