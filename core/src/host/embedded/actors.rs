//! Actor instances by name and key: each one surface object, its subscribers and its pending
//! bridge requests. Instances are created on first connection and kept while the host runs.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::frames::ServerFrame;
use super::outbox::Outbox;
use super::store::Store;
use crate::runtime::{
    ActorError, ActorEvents, BridgeHub, Contract, Encoding, EventSink, Limits, Surface, Value,
};

/// Builds the surface object of one actor from its data directory and the sink of its own
/// events.
pub type Factory =
    Arc<dyn Fn(&Path, ActorEvents) -> Result<Arc<dyn Surface>, ActorError> + Send + Sync>;

/// An actor kind the host serves.
pub struct ActorKind {
    pub contract: &'static Contract,
    pub factory: Factory,
}

impl ActorKind {
    pub fn of<S: Surface>(
        open: impl Fn(&Path, ActorEvents) -> Result<S, ActorError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            contract: S::contract(),
            factory: Arc::new(move |dir, events| {
                Ok(Arc::new(open(dir, events)?) as Arc<dyn Surface>)
            }),
        }
    }
}

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

impl EventSink for Subscribers {
    fn emit(&self, event: &str, payload: Value) {
        for sub in self.lock().values() {
            if sub.events.contains(event) {
                // A closed connection's receiver is gone; it detaches on its own.
                sub.tx.send(Outgoing::Event {
                    name: event.to_owned(),
                    payload: payload.clone(),
                });
            }
        }
    }
}

pub struct Actors {
    kinds: HashMap<String, ActorKind>,
    live: tokio::sync::Mutex<HashMap<(String, String), Arc<Actor>>>,
    store: Store,
    data_dir: PathBuf,
    bridge_timeout: Duration,
}

impl Actors {
    pub fn new(
        kinds: HashMap<String, ActorKind>,
        data_dir: PathBuf,
        bridge_timeout: Duration,
    ) -> Result<Self, ActorError> {
        crate::vm::identity::prepare_data_dir(&data_dir)
            .map_err(|e| ActorError::internal(format!("{}: {e}", data_dir.display())))?;
        Ok(Self {
            store: Store::open(&data_dir.join(super::STATE_FILE))?,
            kinds,
            live: Default::default(),
            data_dir,
            bridge_timeout,
        })
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
            return Ok(actor.clone());
        }
        let id = self.store.actor_id(name, key)?;
        let dir = self.data_dir.join("actors").join(&id);
        let factory = kind.factory.clone();
        let subscribers = Arc::<Subscribers>::default();
        let bridges = Arc::new(BridgeHub::new(self.bridge_timeout));
        let events = ActorEvents::with_bridges(subscribers.clone(), bridges.clone());
        let surface = tokio::task::spawn_blocking(move || factory(&dir, events))
            .await
            .map_err(|e| ActorError::internal(format!("actor start failed: {e}")))??;
        let actor = Arc::new(Actor {
            id,
            contract: kind.contract,
            surface,
            bridges,
            subscribers,
        });
        live.insert((name.to_owned(), key.to_owned()), actor.clone());
        Ok(actor)
    }
}
