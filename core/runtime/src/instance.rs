//! How a host opens one actor instance, the same on every host: the surface object built from
//! its data directory, with a bridge hub and an event sink of its own, off the async workers
//! (opening a VM touches the disk and starts processes); and the `Init` information a client
//! reads first.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::database::Database;
use crate::{ActorError, ActorEvents, BridgeHub, Contract, EventSink, Limits, Surface};

/// How an instance's life meets its host's: when it may be closed, and a last word before it
/// is.
pub trait Lifecycle: Send + Sync {
    /// Whether closing the instance now would end nothing in progress: what it runs on its
    /// own (processes, shells, sessions, scheduled jobs) rather than for a connected client.
    fn idle(&self) -> bool;

    /// Called before the host closes the instance on purpose, never when the host is killed:
    /// the moment to tell its connections why, and, before a sleep (after which a host that
    /// moves instances between machines, the Rivet Engine, may start it elsewhere), to save
    /// what a start elsewhere needs.
    fn closing(&self, _why: Closing) {}

    /// Where the host's preview URLs for this instance lead, when it has ports to show.
    fn preview(&self) -> Option<Arc<dyn PreviewTarget>> {
        None
    }
}

/// An instance's ports as its host's preview URLs reach them: the host proxies a request whose
/// path holds a token (HTTP, WebSocket upgrades too) to the port the token names.
#[async_trait::async_trait]
pub trait PreviewTarget: Send + Sync {
    /// The port `token` opens: `not_found` for a token the instance does not know, its own
    /// `expired` code for one past its time.
    fn preview_port(&self, token: &str) -> Result<u16, ActorError>;

    /// A connection to `port`, where the instance's servers listen.
    async fn connect(&self, port: u16) -> Result<tokio::net::TcpStream, ActorError>;
}

/// Why a host closes an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Closing {
    /// The Rivet Engine puts the actor to sleep; it starts again on its next use, maybe on
    /// another machine.
    Sleep,
    /// The actor is destroyed, its state with it.
    Destroy,
    /// The host process is stopping (SIGTERM, Ctrl-C); the actor starts again with it.
    HostStopped,
    /// The embedded host closes an actor nothing has used for its idle time.
    Idle,
}

/// A host's promise to start a sleeping instance again at an instant it names (the Rivet
/// Engine's durable schedule), so that work due then (a cron job) runs with no client
/// calling. A host whose instances never sleep while they have such work has none.
#[async_trait::async_trait]
pub trait Alarm: Send + Sync {
    /// Wakes the instance at `at` (or soon after) if it sleeps then; `None` withdraws the
    /// request. Each call replaces the one before.
    async fn wake_at(&self, at: Option<SystemTime>);
}

/// What a host lends an instance besides its events, each absent where the host has none.
#[derive(Clone, Default)]
pub struct Services {
    /// Starts the instance again when it asks, on a host whose instances sleep.
    pub alarm: Option<Arc<dyn Alarm>>,
    /// Where its durable state goes; without one, an instance keeps its own file.
    pub database: Option<Arc<dyn Database>>,
    /// The path under which the host serves the instance's preview URLs (`<path>/<token>/`),
    /// when it serves them.
    pub preview_path: Option<String>,
}

/// Builds the surface object of one instance from its data directory and the sink of its own
/// events.
pub type Opener =
    Arc<dyn Fn(&Path, ActorEvents) -> Result<Instance, ActorError> + Send + Sync + 'static>;

/// A surface type a host serves: its contract and how to open an instance of it.
#[derive(Clone)]
pub struct Kind {
    pub contract: &'static Contract,
    pub open: Opener,
}

impl Kind {
    pub fn of<S: Surface + Lifecycle>(
        open: impl Fn(&Path, ActorEvents) -> Result<S, ActorError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            contract: S::contract(),
            open: Arc::new(move |dir, events| {
                let surface = Arc::new(open(dir, events)?);
                Ok(Instance {
                    lifecycle: surface.clone(),
                    surface,
                })
            }),
        }
    }

    /// Opens the instance whose data lives in `dir`: the directory (and its parent) made with
    /// mode 0711, so others may pass through to a VM's root but not list what the host keeps;
    /// then the surface, with a hub that answers its bridges, the host's sink for its events
    /// and the `services` the host lends it.
    pub async fn open(
        &self,
        dir: PathBuf,
        sink: Arc<dyn EventSink>,
        bridge_timeout: Duration,
        services: Services,
    ) -> Result<Opened, ActorError> {
        let bridges = Arc::new(BridgeHub::new(bridge_timeout));
        let events = ActorEvents::with_bridges(sink, bridges.clone()).with_services(services);
        let open = self.open.clone();
        let instance = tokio::task::spawn_blocking(move || {
            for dir in dir.parent().into_iter().chain([dir.as_path()]) {
                prepare_data_dir(dir)
                    .map_err(|e| ActorError::internal(format!("{}: {e}", dir.display())))?;
            }
            open(&dir, events)
        })
        .await
        .map_err(|e| ActorError::internal(format!("actor start failed: {e}")))??;
        Ok(Opened { instance, bridges })
    }
}

/// One opened surface, and its life as its host sees it.
pub struct Instance {
    pub surface: Arc<dyn Surface>,
    pub lifecycle: Arc<dyn Lifecycle>,
}

/// An instance with the hub its calls answer bridges through (the one its own events use).
pub struct Opened {
    pub instance: Instance,
    pub bridges: Arc<BridgeHub>,
}

/// What a client reads before its first call: which instance and connection it has, the
/// contract the host serves (the client refuses another) and the limits it enforces.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Init<'a> {
    pub actor_id: &'a str,
    pub connection_id: &'a str,
    pub contract_hash: &'a str,
    /// The contract's version: a client refuses another major.
    pub contract_version: &'a str,
    pub limits: Limits,
}

/// Creates a data directory (the host's, or one instance's), or takes the one given: mode
/// 0711, so that no other user lists what it holds while a VM's host user can still reach its
/// own root inside.
pub fn prepare_data_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o711))
}
