//! `agentos-rivet serve`: the `agentOS` actor served to a Rivet Engine under a pool name.

use std::path::PathBuf;
use std::time::Duration;

use agentos_core::runtime::Limits;
use agentos_core::vm::sandbox::SandboxMode;
use agentos_core::{AgentOs, VmConfig};
use agentos_rivet::Setup;
use clap::{Parser, Subcommand};
use rivetkit::{EngineSpawnMode, Registry, ServeConfig};
use tokio_util::sync::CancellationToken;

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
    Serve {
        /// The engine's endpoint; it must already be running (this never starts one).
        #[arg(long, env = "RIVET_ENDPOINT", default_value = "http://127.0.0.1:6420")]
        endpoint: String,
        #[arg(long, env = "RIVET_NAMESPACE", default_value = "default")]
        namespace: String,
        #[arg(long, env = "RIVET_TOKEN", default_value = "dev")]
        token: String,
        /// The pool (runner name) clients address with `poolName`.
        #[arg(long, env = "RIVET_POOL", default_value = "agentos")]
        pool: String,
        /// Where VMs live: one directory per actor key.
        #[arg(long, default_value = ".agentos-rivet")]
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
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Sandbox {
    Bubblewrap,
    None,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve {
        endpoint,
        namespace,
        token,
        pool,
        data_dir,
        max_message_bytes,
        bridge_timeout_ms,
        sandbox,
        allow_network,
    } = Cli::parse().command;
    let vm = VmConfig {
        sandbox: match sandbox {
            Sandbox::Bubblewrap => SandboxMode::Bubblewrap,
            Sandbox::None => SandboxMode::None,
        },
        allow_network,
    };
    let mut setup = Setup::new(std::path::absolute(&data_dir)?, move |dir, events| {
        AgentOs::open(dir, vm, events)
    });
    setup.limits = Limits::with_message_bytes(max_message_bytes);
    setup.bridge_timeout = Duration::from_millis(bridge_timeout_ms);
    let mut registry = Registry::new();
    agentos_rivet::register::<AgentOs>(&mut registry, "agentOS", setup);

    // Machine-readable first: tests read it from stdout.
    println!("AGENTOS_RIVET_POOL={pool}");
    eprintln!(
        "serving agentOS on {endpoint} (namespace {namespace}, pool {pool}) — connect with createAgentOsClient(rivetkitTransport({{ endpoint, poolName, key }}))"
    );
    let config = ServeConfig {
        endpoint,
        token: Some(token),
        namespace,
        pool_name: pool,
        engine_spawn: EngineSpawnMode::Never,
        ..ServeConfig::default()
    };
    let shutdown = CancellationToken::new();
    let mut serve = tokio::spawn(registry.serve_with_config(config, shutdown.clone()));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        ended = &mut serve => return ended?,
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    shutdown.cancel();
    // Draining waits for the engine; if it is already gone, do not wait forever.
    match tokio::time::timeout(Duration::from_secs(10), serve).await {
        Ok(ended) => ended?,
        Err(_) => {
            tracing::warn!("the engine did not acknowledge shutdown in 10 s; exiting");
            Ok(())
        }
    }
}
