//! `agentos serve`: the embedded host on loopback, serving the `agentOS` actor.

use agentos_core::AgentOs;
use agentos_core::cli::{BuiltinAgent, ToolkitMcp};
use agentos_host::cli::EmbeddedServe;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "agentos",
    about = "Hosts AgentOs actors for the generated TypeScript client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve actors over WebSocket (loopback by default).
    Serve(Box<EmbeddedServe>),
    /// Connects stdin and stdout to a VM's toolkit MCP socket (launched by agents).
    #[command(hide = true)]
    ToolkitMcp(ToolkitMcp),
    /// Serves the built-in ACP agent on stdio (launched by sessions of agent `builtin`).
    #[command(hide = true)]
    BuiltinAgent(BuiltinAgent),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    agentos_core::cli::init_logging();
    match Cli::parse().command {
        Command::Serve(serve) => serve.run(AgentOs::open).await,
        Command::ToolkitMcp(pump) => Ok(pump.run().await?),
        Command::BuiltinAgent(agent) => Ok(agent.run().await?),
    }
}
