//! `agentos-notes serve` (the embedded host) or `agentos-notes serve-rivet` (on a Rivet
//! Engine): the agentOS actor with the notes app's actions, with the same flags as
//! `agentos serve` and `agentos-rivet serve`.

use agentos_core::cli::{BuiltinAgent, ToolkitMcp};
use agentos_example_notes::NotesApp;
use agentos_host::cli::EmbeddedServe;
use agentos_rivet::cli::RivetServe;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "agentos-notes",
    about = "The agentOS actor with a notebook of the app's own"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve on the embedded host (loopback WebSocket).
    Serve(Box<EmbeddedServe>),
    /// Serve on a running Rivet Engine.
    ServeRivet(Box<RivetServe>),
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
        Command::Serve(serve) => serve
            .run(NotesApp::open)
            .await
            .map_err(|e| anyhow::anyhow!("{e}")),
        Command::ServeRivet(serve) => serve.run(NotesApp::open).await,
        Command::ToolkitMcp(pump) => Ok(pump.run().await?),
        Command::BuiltinAgent(agent) => Ok(agent.run().await?),
    }
}
