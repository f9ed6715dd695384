//! Actor instances by name and key: each one surface object, its subscribers and its pending
//! bridge requests. Instances are created on first connection and kept while they are in use:
//! one with no connection, no call and no work of its own ([`Lifecycle`]) for the policy's idle
//! time is closed, and opened again on the next connection; past the most live instances,
//! the longest idle one makes room.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::frames::ServerFrame;
use super::outbox::Outbox;
use super::preview;
use agentos_core::runtime::instance::{Closing, Kind, Lifecycle, Services};
use agentos_core::runtime::{
    ActorError, BridgeHub, Contract, Encoding, EventSink, Limits, Surface, Value,
};
use agentos_core::vm::store::{self, Registry};

/// What a connection sends, in order: responses and events share one queue.
pub enum Outgoing {
    Event {
        name: String,
        payload: Value,
    },
    Response {
        id: u64,
        result: Result<Value, ActorError>,
    },
    Error {
        error: ActorError,
        action_id: Option<u64>,
    },
}

impl Outgoing {
    /// Encodes the frame; a response that cannot be encoded or exceeds the message limit
    /// becomes an error for that call, so no single message exceeds the limit.
    pub fn encode(self, encoding: Encoding, limits: Limits) -> Result<Vec<u8>, ActorError> {
        let (error, action_id) = match self {
            Self::Event { name, payload } => {
                let bytes = ServerFrame::Event {
                    name: &name,
                    args: [payload],
                }
                .encode(encoding)?;
                limits.check_size(bytes.len())?;
                return Ok(bytes);
            }
            Self::Response {
                id,
                result: Ok(output),
            } => {
                let frame = ServerFrame::ActionResponse { id, output };
                match frame
                    .encode(encoding)
                    .and_then(|b| limits.check_size(b.len()).map(|()| b))
                {
                    Ok(bytes) => return Ok(bytes),
                    Err(err) => (err, Some(id)),
                }
            }
            Self::Response {
                id,
                result: Err(err),
            } => (err, Some(id)),
            Self::Error { error, action_id } => (error, action_id),
        };
        ServerFrame::Error {
            error: &error,
            action_id,
        }
        .encode(encoding)
    }
}

pub struct Actor {
    pub id: String,
    pub contract: &'static Contract,
    pub surface: Arc<dyn Surface>,
    pub bridges: Arc<BridgeHub>,
    pub subscribers: Arc<Subscribers>,
    pub lifecycle: Arc<dyn Lifecycle>,
    /// When a connection last opened or closed.
    last_used: Mutex<Instant>,
}

impl Actor {
    /// Notes a connection opening or closing: idle time counts from the last one.
    pub fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

/// When the host closes idle actors.
#[derive(Debug, Clone, Copy)]
pub struct VmPolicy {
    /// How long an actor stays open with no connection and nothing running.
    pub idle_timeout: Duration,
    /// The most actors open at once.
    pub max_live: usize,
}

impl Default for VmPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(300),
            max_live: 256,
        }
    }
}

/// One connection as its actor sees it: the events it subscribed to and its send queue.
struct Subscriber {
    events: HashSet<String>,
    tx: Outbox,
}

/// Connections of one actor and the events each one subscribed to.
#[derive(Default)]
pub struct Subscribers {
    conns: Mutex<HashMap<u64, Subscriber>>,
}

impl Subscribers {
    pub fn attach(&self, conn: u64, tx: Outbox) {
        self.lock().insert(
            conn,
            Subscriber {
                events: HashSet::new(),
                tx,
            },
        );
    }
    pub fn detach(&self, conn: u64) {
        self.lock().remove(&conn);
    }
    pub fn subscribe(&self, conn: u64, event: String, subscribe: bool) {
        if let Some(sub) = self.lock().get_mut(&conn) {
            if subscribe {
                sub.events.insert(event);
            } else {
                sub.events.remove(&event);
            }
        }
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subscriber>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Subscriber {
    fn send(&self, event: &str, payload: &Value) {
        if self.events.contains(event) {
            // A closed connection's receiver is gone; it detaches on its own.
            self.tx.send(Outgoing::Event {
                name: event.to_owned(),
                payload: payload.clone(),
            });
        }
    }
}

/// Actor-wide events: every connection subscribed to them.
impl EventSink for Subscribers {
    fn emit(&self, event: &str, payload: Value) {
        for sub in self.lock().values() {
            sub.send(event, &payload);
        }
    }
}

/// The events of one call (a callback parameter's values, its bridge requests): only the
/// connection that made the call gets them, and only if it subscribed.
pub struct Caller {
    pub subscribers: Arc<Subscribers>,
    pub conn: u64,
}

impl EventSink for Caller {
    fn emit(&self, event: &str, payload: Value) {
        if let Some(sub) = self.subscribers.lock().get(&self.conn) {
            sub.send(event, &payload);
        }
    }
}

/// Where the actors' data directories are, in the host's.
const ACTORS_DIR: &str = "actors";

type Live = HashMap<(String, String), Arc<Actor>>;

/// The actors nothing uses (no connection, no call: only the map holds them) and that are
/// idle.
fn closable(live: &Live) -> impl Iterator<Item = (&(String, String), &Arc<Actor>)> {
    live.iter()
        .filter(|(_, actor)| Arc::strong_count(actor) == 1 && actor.lifecycle.idle())
}

pub struct Actors {
    kinds: HashMap<String, Kind>,
    live: tokio::sync::Mutex<Live>,
    registry: Registry,
    data_dir: PathBuf,
    bridge_timeout: Duration,
    pub policy: VmPolicy,
}

impl Actors {
    pub fn new(
        kinds: HashMap<String, Kind>,
        data_dir: PathBuf,
        bridge_timeout: Duration,
        policy: VmPolicy,
    ) -> Result<Self, ActorError> {
        // Mode 0711, and so is each VM's own directory (made as the VM opens): others may pass
        // through to a VM's root, not list what the host keeps.
        for dir in [data_dir.clone(), data_dir.join(ACTORS_DIR)] {
            agentos_core::runtime::instance::prepare_data_dir(&dir)
                .map_err(|e| ActorError::internal(format!("{}: {e}", dir.display())))?;
        }
        Ok(Self {
            registry: Registry::open(&data_dir.join(store::FILE))?,
            kinds,
            live: Default::default(),
            data_dir,
            bridge_timeout,
            policy,
        })
    }

    /// Closes the actors idle for the policy's time.
    pub async fn close_idle(&self) {
        let mut live = self.live.lock().await;
        let timeout = self.policy.idle_timeout;
        let keys: Vec<_> = closable(&live)
            .filter(|(_, actor)| actor.idle_for() >= timeout)
            .map(|(key, _)| key.clone())
            .collect();
        Self::close(&mut live, keys).await;
    }

    /// Closes the actors at `keys`, the lock held meanwhile so that none reopens before it is
    /// closed (its data directory is its own).
    async fn close(live: &mut Live, keys: Vec<(String, String)>) {
        let closed: Vec<_> = keys.iter().filter_map(|key| live.remove(key)).collect();
        if !closed.is_empty() {
            tracing::debug!(count = closed.len(), "closing idle actors");
            let _ = tokio::task::spawn_blocking(move || {
                for actor in &closed {
                    actor.lifecycle.closing(Closing::Idle);
                }
            })
            .await;
        }
    }

    /// Gives every live actor its last word before the host stops; they close with it.
    pub async fn closing(&self, why: Closing) {
        let live: Vec<_> = self.live.lock().await.values().cloned().collect();
        let _ = tokio::task::spawn_blocking(move || {
            for actor in &live {
                actor.lifecycle.closing(why);
            }
        })
        .await;
    }

    /// The actor `name`/`key` if it was ever created (started again when it is not live);
    /// `not_found` otherwise, so that an unauthenticated request creates nothing.
    pub async fn existing(&self, name: &str, key: &str) -> Result<Arc<Actor>, ActorError> {
        if self.kinds.contains_key(name) && self.registry.find(name, key)?.is_none() {
            return Err(ActorError::not_found(format!("no actor {name}/{key}")));
        }
        self.get(name, key).await
    }

    /// The live actor `name`/`key`, started on first use.
    pub async fn get(&self, name: &str, key: &str) -> Result<Arc<Actor>, ActorError> {
        let kind = self.kinds.get(name).ok_or_else(|| {
            ActorError::not_found(format!(
                "this host serves no actor named `{name}` (it serves: {})",
                self.kinds.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let mut live = self.live.lock().await;
        if let Some(actor) = live.get(&(name.to_owned(), key.to_owned())) {
            actor.touch();
            return Ok(actor.clone());
        }
        if live.len() >= self.policy.max_live {
            let Some(longest) = closable(&live)
                .max_by_key(|(_, actor)| actor.idle_for())
                .map(|(key, _)| key.clone())
            else {
                return Err(ActorError::limit_exceeded(format!(
                    "this host already has {} actors open, its most, and none is idle",
                    live.len()
                )));
            };
            Self::close(&mut live, vec![longest]).await;
        }
        let id = self.registry.actor_id(name, key)?;
        let dir = self.data_dir.join(ACTORS_DIR).join(&id);
        let subscribers = Arc::<Subscribers>::default();
        let opened = kind
            .open(
                dir,
                subscribers.clone(),
                self.bridge_timeout,
                Services {
                    preview_path: Some(preview::base_path(name, key)),
                    ..Services::default()
                },
            )
            .await?;
        let actor = Arc::new(Actor {
            id,
            contract: kind.contract,
            surface: opened.instance.surface,
            bridges: opened.bridges,
            subscribers,
            lifecycle: opened.instance.lifecycle,
            last_used: Mutex::new(Instant::now()),
        });
        live.insert((name.to_owned(), key.to_owned()), actor.clone());
        Ok(actor)
    }
}
