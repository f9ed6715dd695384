//! `agentos-rivet serve`: the `agentOS` actor served to a Rivet Engine under a pool name.

use agentos_core::AgentOs;
use agentos_core::cli::{BuiltinAgent, ToolkitMcp};
use agentos_rivet::cli::RivetServe;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "agentos-rivet",
    about = "Serves the agentOS actor on a Rivet Engine for rivetkit clients"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect to an engine and serve `agentOS` actors until SIGTERM or Ctrl-C.
    Serve(Box<RivetServe>),
    /// Connects stdin and stdout to a VM's toolkit MCP socket (launched by agents).
    #[command(hide = true)]
    ToolkitMcp(ToolkitMcp),
    /// Serves the built-in ACP agent on stdio (launched by sessions of agent `builtin`).
    #[command(hide = true)]
    BuiltinAgent(BuiltinAgent),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    agentos_core::cli::init_logging();
    match Cli::parse().command {
        Command::Serve(serve) => serve.run(AgentOs::open).await,
        Command::ToolkitMcp(pump) => Ok(pump.run().await?),
        Command::BuiltinAgent(agent) => Ok(agent.run().await?),
    }
}
