//! `agentos-rivet serve`: the `agentOS` actor served to a Rivet Engine under a pool name.

use std::path::PathBuf;
use std::time::Duration;

use agentos_core::AgentOs;
use agentos_core::cli::{LimitArgs, VmArgs};
use agentos_rivet::Setup;
use clap::{Parser, Subcommand};
use rivetkit::{EngineSpawnMode, Registry, ServeConfig};
use tokio_util::sync::CancellationToken;

/// The SQLite file under `--data-dir` that keeps every VM's session events.
const SESSION_STORE: &str = "host.sqlite";

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
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        vm: VmArgs,
    },
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
        limits,
        vm,
    } = Cli::parse().command;
    let data_dir = std::path::absolute(&data_dir)?;
    // Session events of every actor's VM, each under its own directory's name, as on the
    // embedded host.
    let vm = vm.config(data_dir.join(SESSION_STORE))?;
    let mut setup = Setup::new(data_dir, move |dir, events| {
        AgentOs::open(dir, vm.clone(), events)
    });
    setup.limits = limits.limits();
    setup.bridge_timeout = limits.bridge_timeout();
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
