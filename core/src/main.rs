//! `agentos serve`: the embedded host on loopback, serving the `agentOS` actor.

use agentos_core::AgentOs;
use agentos_core::cli::EmbeddedServe;
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
    Serve(EmbeddedServe),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(serve) = Cli::parse().command;
    serve.run(AgentOs::open).await
}
