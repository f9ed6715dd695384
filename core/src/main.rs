//! `agentos serve`: the embedded host on loopback, serving the `agentOS` actor. Also the
//! hidden `agentos toolkit-mcp <socket>`, which sandboxed agents launch as the stdio MCP
//! server of their VM's toolkits.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use agentos_core::VmConfig;
use agentos_core::host::embedded::{self, HostConfig};
use agentos_core::runtime::Limits;
use agentos_core::vm::sandbox::SandboxMode;
use agentos_core::vm::session::AgentConfig;
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
    Serve(ServeArgs),
    /// Connects stdin and stdout to a VM's toolkit MCP socket (launched by agents).
    #[command(hide = true)]
    ToolkitMcp { socket: PathBuf },
}

#[derive(clap::Args)]
struct ServeArgs {
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
    /// Largest message in either direction, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_message_bytes: u32,
    /// How long a bridge request waits for a client's answer, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    bridge_timeout_ms: u64,
    /// How VM processes are isolated: `bubblewrap`, or `none` (no isolation at all).
    #[arg(long, value_enum, default_value_t = Sandbox::Bubblewrap)]
    sandbox: Sandbox,
    /// Let sandboxed processes use the network.
    #[arg(long)]
    allow_network: bool,
    /// Serve this directory under `/terminal/`: pass `bindings/web` for the browser
    /// terminal page.
    #[arg(long, env = "AGENTOS_WEB_ROOT")]
    web_root: Option<PathBuf>,
    /// An agent `createSession` can start, as `id=command [args…]` (split on spaces);
    /// repeat for more. An absolute command is bound read-only into the sandbox.
    #[arg(long = "agent", value_name = "ID=COMMAND")]
    agents: Vec<String>,
    /// A JSON file of agents by id: `{ "id": { "command", "args"?, "env"?,
    /// "description"?, "binds"? } }`.
    #[arg(long)]
    agents_file: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Sandbox {
    Bubblewrap,
    None,
}

/// The agents of `--agents-file`, then those of `--agent`.
fn agent_registry(
    flags: &[String],
    file: Option<&std::path::Path>,
) -> Result<BTreeMap<String, AgentConfig>, Box<dyn std::error::Error>> {
    let mut agents: BTreeMap<String, AgentConfig> = match file {
        Some(file) => serde_json::from_slice(&std::fs::read(file)?)
            .map_err(|e| format!("{}: {e}", file.display()))?,
        None => BTreeMap::new(),
    };
    for flag in flags {
        let (id, command) = flag
            .split_once('=')
            .ok_or_else(|| format!("--agent {flag}: expected ID=COMMAND"))?;
        let mut words = command.split_whitespace().map(str::to_owned);
        let command = words
            .next()
            .ok_or_else(|| format!("--agent {flag}: the command is empty"))?;
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
            return Err(format!("agent {id}: bind {bind} is not an absolute path").into());
        }
    }
    Ok(agents)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::ToolkitMcp { socket } => agentos_core::vm::toolkit::pump(&socket)
            .await
            .map_err(|e| format!("{}: {e}", socket.display()).into()),
    }
}

async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let ServeArgs {
        host,
        port,
        token,
        data_dir,
        max_message_bytes,
        bridge_timeout_ms,
        sandbox,
        allow_network,
        web_root,
        agents,
        agents_file,
    } = args;
    let vm = VmConfig {
        sandbox: match sandbox {
            Sandbox::Bubblewrap => SandboxMode::Bubblewrap,
            Sandbox::None => SandboxMode::None,
        },
        allow_network,
        agents: agent_registry(&agents, agents_file.as_deref())?,
        state_store: Some(data_dir.join(embedded::STATE_FILE)),
        toolkit_proxy: Some(std::env::current_exe()?),
        ..VmConfig::default()
    };
    let token = token.unwrap_or_else(embedded::generate_token);
    let running = embedded::start(
        HostConfig {
            listen: SocketAddr::new(host, port),
            token: token.clone(),
            data_dir,
            limits: Limits::with_message_bytes(max_message_bytes),
            bridge_timeout: Duration::from_millis(bridge_timeout_ms),
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
