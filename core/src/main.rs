//! `agentos serve`: the embedded host on loopback, serving the `agentOS` actor.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use agentos_core::cli::{LimitArgs, VmArgs};
use agentos_core::host::embedded::{self, HostConfig};
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
    Serve {
        /// Address to listen on; anything but loopback exposes the VMs to the network.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 6420)]
        port: u16,
        /// Bearer token clients must present; generated and printed when absent.
        #[arg(long, env = "AGENTOS_TOKEN")]
        token: Option<String>,
        /// Where VMs and the host's SQLite state live.
        #[arg(long, default_value = ".agentos")]
        data_dir: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        vm: VmArgs,
        /// Serve this directory under `/terminal/`: pass `bindings/web` for the browser
        /// terminal page.
        #[arg(long, env = "AGENTOS_WEB_ROOT")]
        web_root: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve {
        host,
        port,
        token,
        data_dir,
        limits,
        vm,
        web_root,
    } = Cli::parse().command;
    let vm = vm.config(data_dir.join(embedded::STATE_FILE))?;
    let token = token.unwrap_or_else(embedded::generate_token);
    let running = embedded::start(
        HostConfig {
            listen: SocketAddr::new(host, port),
            token: token.clone(),
            data_dir,
            limits: limits.limits(),
            bridge_timeout: limits.bridge_timeout(),
            web_root: web_root.clone(),
        },
        embedded::agent_os_kinds(vm),
    )
    .await?;
    // Machine-readable lines first: tests and scripts read them from stdout.
    println!("AGENTOS_URL=ws://{}", running.addr);
    println!("AGENTOS_TOKEN={token}");
    eprintln!(
        "agentOS host listening on ws://{} — connect with createAgentOsClient(webSocketTransport({{ url, token }}))",
        running.addr
    );
    if web_root.is_some() {
        // The token travels in the fragment, which the browser never sends to a server.
        eprintln!(
            "browser terminal: http://{}{}/#token={token}",
            running.addr,
            embedded::WEB_PATH
        );
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    running.stop().await?;
    Ok(())
}
