//! The embedded host: one process, nothing else to install. A loopback WebSocket + HTTP
//! server that hosts actors by name and key behind a bearer token, enforces message limits,
//! and keeps its state in a local SQLite file. Protocol: `docs/protocol.md`.

mod actors;
mod auth;
mod connection;
mod frames;
mod listener;
mod outbox;
mod preview;
mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use actors::Actors;
pub use actors::VmPolicy;
pub use agentos_core::runtime::instance::{Closing, Kind, Lifecycle};
pub use auth::generate_token;
use listener::{GuardedListener, Peer};

use agentos_core::runtime::{ActorError, Encoding, Limits};

/// The subprotocol a browser offers (with `agentos.bearer.<token>`) and the host selects.
pub const SUBPROTOCOL: &str = "agentos.v1";

/// Where the host serves its `web_root`.
pub const WEB_PATH: &str = "/terminal";

pub struct HostConfig {
    pub listen: SocketAddr,
    pub token: String,
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// How long a bridge request waits for a client's answer.
    pub bridge_timeout: Duration,
    /// A directory served read-only under `/terminal/`: the browser console
    /// (`bindings/web`), so that it and the actors share an origin.
    pub web_root: Option<PathBuf>,
    /// When idle actors are closed.
    pub vm_policy: VmPolicy,
}

/// The actor kinds of the agentOS host: `agentOS`, backed by [`agentos_core::AgentOs`] VMs that all
/// share `config`.
pub fn agent_os_kinds(config: agentos_core::VmConfig) -> HashMap<String, Kind> {
    HashMap::from([(
        "agentOS".to_owned(),
        Kind::of(move |dir, events| agentos_core::AgentOs::open(dir, config.clone(), events)),
    )])
}

struct Shared {
    actors: Actors,
    token: String,
    limits: Limits,
    /// Cancelled when the host stops: every connection closes.
    stopping: CancellationToken,
    /// The connections, for the host to wait on as it stops.
    connections: TaskTracker,
}

/// How long a stopping host waits for its connections to send what they have.
const DRAIN: Duration = Duration::from_secs(5);

/// A host that is listening; stop it with [`RunningHost::stop`].
pub struct RunningHost {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningHost {
    /// Stops accepting, tells each open actor's connections why (`vmShutdown`), closes them
    /// once they have sent what they have (at most [`DRAIN`]), then closes the actors.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        self.shared.actors.closing(Closing::HostStopped).await;
        self.shared.stopping.cancel();
        self.shared.connections.close();
        let _ = tokio::time::timeout(DRAIN, self.shared.connections.wait()).await;
        self.task.await.map_err(std::io::Error::other)?
    }
}

pub async fn start(
    config: HostConfig,
    kinds: HashMap<String, Kind>,
) -> Result<RunningHost, ActorError> {
    let shared = Arc::new(Shared {
        actors: Actors::new(
            kinds,
            config.data_dir,
            config.bridge_timeout,
            config.vm_policy,
        )?,
        token: config.token,
        limits: config.limits,
        stopping: CancellationToken::new(),
        connections: TaskTracker::new(),
    });
    let mut app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/actors/{name}/{key}/connect", get(connect))
        .route(preview::ROUTE, any(preview::serve))
        .route(&format!("{}/", preview::ROUTE), any(preview::serve))
        .route(
            &format!("{}/{{*rest}}", preview::ROUTE),
            any(preview::serve),
        )
        .with_state(shared.clone());
    if let Some(root) = config.web_root {
        // The page's relative links need the trailing slash.
        let index = format!("{WEB_PATH}/");
        app = app
            .route(
                WEB_PATH,
                get(move || async move { Redirect::permanent(&index) }),
            )
            .nest_service(
                &format!("{WEB_PATH}/"),
                web::router(&root).map_err(|e| {
                    ActorError::internal(format!("web root {}: {e}", root.display()))
                })?,
            );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ActorError::internal(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ActorError::internal(e.to_string()))?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let shared_for_stop = shared.clone();
    let idle_closer = {
        let every = (shared.actors.policy.idle_timeout / 2)
            .clamp(Duration::from_millis(100), Duration::from_secs(30));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                shared.actors.close_idle().await;
            }
        })
    };
    let task = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<Peer>();
        let served = axum::serve(GuardedListener::new(listener), app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        idle_closer.abort();
        served
    });
    Ok(RunningHost {
        addr,
        shared: shared_for_stop,
        shutdown,
        task,
    })
}

#[derive(serde::Deserialize)]
struct ConnectQuery {
    encoding: Option<String>,
}

async fn connect(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path((name, key)): Path<(String, String)>,
    Query(query): Query<ConnectQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !auth::authorized(&headers, &shared.token) {
        return (
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token: send `Authorization: Bearer <token>` or the subprotocol `agentos.bearer.<token>`",
        )
            .into_response();
    }
    peer.authenticated();
    let encoding: Encoding = match query.encoding.as_deref().unwrap_or("cbor").parse() {
        Ok(e) => e,
        Err(err) => return (StatusCode::BAD_REQUEST, err.message).into_response(),
    };
    let actor = match shared.actors.get(&name, &key).await {
        Ok(actor) => actor,
        Err(err) if err.code == agentos_core::runtime::code::NOT_FOUND => {
            return (StatusCode::NOT_FOUND, err.message).into_response();
        }
        Err(err) if err.code == agentos_core::runtime::code::LIMIT_EXCEEDED => {
            return (StatusCode::SERVICE_UNAVAILABLE, err.message).into_response();
        }
        Err(err) => return (StatusCode::INTERNAL_SERVER_ERROR, err.message).into_response(),
    };
    let limits = shared.limits;
    let (stopping, connections) = (shared.stopping.clone(), shared.connections.clone());
    // Frames up to 4× the limit are read so that they can be answered with a typed error
    // instead of a dropped connection; beyond that the socket closes.
    let hard_cap = (limits.max_message_bytes as usize).saturating_mul(4);
    ws.protocols([SUBPROTOCOL])
        .max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .on_upgrade(move |socket| {
            connections.track_future(connection::run(socket, actor, encoding, limits, stopping))
        })
}
