//! `serve` on a Rivet Engine: the engine's address and pool, then the flags every host shares
//! (`agentos_core::cli`). Any surface runs through it: the core's, or an app's that extends it.

use std::path::PathBuf;
use std::time::Duration;

use agentos_core::cli::{LimitArgs, Open, VmArgs, shutdown_signal};
use agentos_core::runtime::Surface;
use agentos_core::runtime::instance::Lifecycle;
use rivetkit::{EngineSpawnMode, Registry, ServeConfig};
use tokio_util::sync::CancellationToken;

use crate::Setup;

#[derive(Debug, Clone, clap::Args)]
pub struct RivetServe {
    /// The engine's endpoint; it must already be running (this never starts one).
    #[arg(long, env = "RIVET_ENDPOINT", default_value = "http://127.0.0.1:6420")]
    pub endpoint: String,
    #[arg(long, env = "RIVET_NAMESPACE", default_value = "default")]
    pub namespace: String,
    #[arg(long, env = "RIVET_TOKEN", default_value = "dev")]
    pub token: String,
    /// The pool (runner name) clients address with `poolName`.
    #[arg(long, env = "RIVET_POOL", default_value = "agentos")]
    pub pool: String,
    /// Where VMs live: one directory per actor key.
    #[arg(long, default_value = ".agentos-rivet")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub vm: VmArgs,
}

impl RivetServe {
    /// Serves surface `S` under its contract's actor name until SIGTERM or Ctrl-C. Prints
    /// `AGENTOS_RIVET_POOL=…` on stdout first: tests read it.
    pub async fn run<S: Surface + Lifecycle>(self, open: impl Open<S>) -> anyhow::Result<()> {
        agentos_core::cli::raise_fd_limit()?;
        let data_dir = std::path::absolute(&self.data_dir)?;
        agentos_core::runtime::instance::prepare_data_dir(&data_dir)?;
        // Each actor's state goes to its database in the engine; this file is only named so
        // that no mount can reach the data directory.
        let mut vm = self
            .vm
            .config(data_dir.join(agentos_core::vm::store::FILE))?;
        vm.answer_limit = Some(self.limits.max_message_bytes.into());
        let mut setup = Setup::new(data_dir, move |dir, events| open(dir, vm.clone(), events));
        setup.limits = self.limits.limits();
        setup.bridge_timeout = self.limits.bridge_timeout();
        let actor = &S::contract().actor;
        let mut registry = Registry::new();
        crate::register::<S>(&mut registry, actor, setup);

        let (endpoint, namespace, pool) = (self.endpoint, self.namespace, self.pool);
        println!("AGENTOS_RIVET_POOL={pool}");
        eprintln!(
            "serving {actor} on {endpoint} (namespace {namespace}, pool {pool}) — connect with createAgentOsClient(rivetkitTransport({{ endpoint, poolName, key }}))"
        );
        let config = ServeConfig {
            endpoint,
            token: Some(self.token),
            namespace,
            pool_name: pool,
            engine_spawn: EngineSpawnMode::Never,
            ..ServeConfig::default()
        };
        let shutdown = CancellationToken::new();
        let mut serve = tokio::spawn(registry.serve_with_config(config, shutdown.clone()));
        tokio::select! {
            ended = &mut serve => return ended?,
            signalled = shutdown_signal() => signalled?,
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
}
