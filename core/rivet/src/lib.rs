//! The agentOS actor on a Rivet Engine: an adapter from the host-neutral [`Surface`] trait to
//! the `rivetkit` crate. One generic actor type, [`SurfaceActor`], whose action set dispatches
//! by name into the generated dispatcher; a call's events go to the connection that made it and
//! the actor's own events to `ctx.broadcast`; its lifecycle opens the surface (an `AgentOs` VM,
//! with its data directory per actor key under a configured root) on start and drops it on
//! sleep and destroy. The actor stays awake while the instance is busy (`awake`), and an
//! instance that has work due later asks the engine's durable schedule to start it again then
//! (`alarm`), so a sleeping actor's cron jobs still run. The instance keeps its durable state
//! in the actor's own SQL database in the engine (`database`), which any runner reaches.
//!
//! Wire details (see `docs/rivetkit.md`): rivetkit hands actions the client's JSON-compatible
//! envelopes (`["$Uint8Array", b64]`, `["$Undefined", 0]`, …) untouched, so they are unwrapped
//! here and emitted again on the way out; an [`ActorError`] becomes a `RivetError` of group
//! `user` (the only group whose message and metadata reach a client) with the error's own code
//! and `{ group, metadata }` as metadata, which the TypeScript transport turns back into the
//! original error.

use std::any::TypeId;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

mod alarm;
mod awake;
pub mod cli;
mod database;

use agentos_core::runtime::instance::{Closing, Init, Kind, Lifecycle, Services};
use agentos_core::runtime::{
    ActorError, ActorEvents, BridgeHub, CallContext, EventSink, Limits, Surface, Value,
    to_json_value, unwrap_envelopes,
};
use anyhow::Result;
use rivetkit::action::{ActionEntry, ActionSet, Raw};
use rivetkit::{Actor, ConnCtx, Ctx, Registry};
use sha2::{Digest, Sha256};

/// The hidden action the TypeScript transport calls first: the contract hash the actor serves
/// and its limits, what the embedded host sends as its `Init` frame.
pub const INIT_ACTION: &str = "__agentosInit";

/// The hidden action the TypeScript transport calls every action through, as
/// `[callId, action, ...args]`: events raised by the call then carry the id the client chose,
/// which it filters them by (a broadcast reaches every subscribed connection).
pub const CALL_ACTION: &str = "__agentosCall";

/// The hidden action the TypeScript transport calls to cancel a call it made through
/// [`CALL_ACTION`], as `[callId]` (rivetkit's protocol has no cancel frame): the call's future
/// is dropped, as the embedded host does on its `CancelRequest`.
pub const CANCEL_ACTION: &str = "__agentosCancel";

/// The hidden action the engine's durable schedule calls to start a sleeping actor again when
/// its instance asked to be woken ([`Alarm`]): starting is all it does.
pub const WAKE_ACTION: &str = "__agentosWake";

/// How one surface type is served: where actors keep their data, how to open one, limits.
#[derive(Clone)]
pub struct Setup {
    /// Each actor's data directory is `<root>/<actor name>/<hash of its key>`.
    pub root: PathBuf,
    pub limits: Limits,
    /// How long a bridge request waits for a client's answer.
    pub bridge_timeout: Duration,
    /// rivetkit's options for the actor, such as how long it idles before it sleeps.
    pub actor: rivetkit::ActorConfig,
    pub kind: Kind,
}

impl Setup {
    pub fn new<S: Surface + Lifecycle>(
        root: PathBuf,
        open: impl Fn(&Path, ActorEvents) -> Result<S, ActorError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            root,
            limits: Limits::default(),
            bridge_timeout: Duration::from_secs(30),
            actor: rivetkit::ActorConfig::default(),
            kind: Kind::of(open),
        }
    }
}

/// What rivetkit's message limits allow beyond the setup's, for its envelope around a call's
/// arguments or result.
const ENVELOPE_ROOM: u32 = 64 * 1024;

/// `rivetkit::Actor::create` receives only its context, so each surface type's setup is kept
/// per process, by type.
fn setups() -> &'static Mutex<HashMap<TypeId, Arc<Setup>>> {
    static SETUPS: OnceLock<Mutex<HashMap<TypeId, Arc<Setup>>>> = OnceLock::new();
    SETUPS.get_or_init(Default::default)
}

/// Registers surface `S` as actor `name` on `registry`, served with `setup`. One setup per
/// surface type and process: a second registration replaces the first.
pub fn register<S: Surface>(registry: &mut Registry, name: &str, setup: Setup) {
    let mut config = setup.actor.clone();
    // rivetkit refuses an incoming message past 64 KiB by default, while clients are told
    // the setup's limit; its own envelope around the arguments gets some room on top.
    let fits = setup.limits.max_message_bytes.saturating_add(ENVELOPE_ROOM);
    config.max_incoming_message_size = config.max_incoming_message_size.max(fits);
    config.max_outgoing_message_size = config.max_outgoing_message_size.max(fits);
    setups()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(TypeId::of::<S>(), Arc::new(setup));
    registry.register_actor_with::<SurfaceActor<S>>(name, config);
}

/// The agentOS actor as rivetkit sees it, generic over the generated surface.
pub struct SurfaceActor<S> {
    surface: Mutex<Option<Arc<dyn Surface>>>,
    lifecycle: Arc<dyn Lifecycle>,
    bridges: Arc<BridgeHub>,
    setup: Arc<Setup>,
    dir: PathBuf,
    calls: AtomicU64,
    /// Calls made through [`CALL_ACTION`] still running, by call id, for [`CANCEL_ACTION`].
    running: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// The task that keeps the actor awake while its instance is busy.
    awake: tokio::task::AbortHandle,
    _surface: PhantomData<fn() -> S>,
}

impl<S: Surface> SurfaceActor<S> {
    fn live(&self) -> Result<Arc<dyn Surface>, ActorError> {
        self.surface
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| ActorError::closed("the actor is going to sleep"))
    }

    /// Drops the VM: its processes and shells end with it.
    fn shut_down(&self) {
        self.awake.abort();
        drop(
            self.surface
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }

    async fn call(&self, ctx: Ctx<Self>, name: String, args: Vec<u8>) -> Result<Value, ActorError> {
        let limits = self.setup.limits;
        limits.check_size(args.len())?;
        if name == WAKE_ACTION {
            return Ok(Value::Null);
        }
        if name == INIT_ACTION {
            return agentos_core::runtime::to_value(&Init {
                actor_id: ctx.actor_id(),
                connection_id: "",
                contract_hash: &S::contract().hash,
                contract_version: &S::contract().version,
                limits,
            });
        }
        let args = decode_args(&args)?;
        limits.check_args(&args)?;
        if name == CANCEL_ACTION {
            if let [Value::Text(call_id)] = args.as_slice()
                && let Some(call) = self.running().remove(call_id)
            {
                call.abort();
            }
            return Ok(Value::Null);
        }
        let (name, call_id, args) = if name == CALL_ACTION {
            let mut args = args.into_iter();
            match (args.next(), args.next()) {
                (Some(Value::Text(call_id)), Some(Value::Text(name))) => {
                    (name, call_id, args.collect())
                }
                _ => {
                    return Err(ActorError::invalid_input(format!(
                        "{CALL_ACTION} takes [callId, action, ...args]"
                    )));
                }
            }
        } else {
            let call_id = format!(
                "{}-{}",
                ctx.actor_id(),
                self.calls.fetch_add(1, Ordering::Relaxed)
            );
            (name, call_id, args)
        };
        let sink: Arc<dyn EventSink> = Arc::new(Caller(ctx.conn().cloned()));
        let call = CallContext::new(call_id.clone(), sink, self.bridges.clone(), limits);
        let surface = self.live()?;
        let task = tokio::spawn(async move { surface.dispatch(&name, args, &call).await });
        self.running().insert(call_id.clone(), task.abort_handle());
        let result = task.await;
        self.running().remove(&call_id);
        result.unwrap_or_else(|e| {
            Err(if e.is_cancelled() {
                ActorError::cancelled()
            } else {
                ActorError::internal(format!("action failed: {e}"))
            })
        })
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, tokio::task::AbortHandle>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Positional arguments from rivetkit's CBOR, envelopes unwrapped.
fn decode_args(bytes: &[u8]) -> Result<Vec<Value>, ActorError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    match unwrap_envelopes(agentos_core::runtime::Encoding::Cbor.decode(bytes)?)? {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![other]),
    }
}

/// A result in the JSON-compatible form rivetkit's runtime relays to clients.
fn encode_output(value: &Value, limits: Limits) -> Result<Vec<u8>, ActorError> {
    let json = to_json_value(value)?;
    let mut out = Vec::new();
    ciborium::into_writer(&json, &mut out)
        .map_err(|e| ActorError::internal(format!("CBOR encoding failed: {e}")))?;
    limits.check_size(out.len())?;
    Ok(out)
}

/// An [`ActorError`] as the `RivetError` that reaches a rivetkit client intact.
pub fn to_rivet_error(error: ActorError) -> anyhow::Error {
    let metadata = serde_json::json!({ "group": error.group, "metadata": error.metadata });
    anyhow::Error::new(rivet_error::RivetError {
        kind: rivet_error::RivetErrorKind::Dynamic {
            group: "user".to_owned(),
            code: error.code,
            default_message: error.message.clone(),
        },
        meta: serde_json::value::to_raw_value(&metadata).ok(),
        message: Some(error.message),
        actor: None,
    })
}

/// Actor-wide events, to every connection subscribed to them, through `ctx.broadcast`. The payload is one
/// argument, as on the embedded host.
struct Broadcast<S: Surface>(Ctx<SurfaceActor<S>>);

impl<S: Surface> EventSink for Broadcast<S> {
    fn emit(&self, event: &str, payload: Value) {
        let sent = to_json_value(&payload)
            .map_err(anyhow::Error::from)
            .and_then(|json| self.0.broadcast(event, &[json]));
        if let Err(err) = sent {
            tracing::error!(event, %err, "event not broadcast");
        }
    }
}

/// The events of one call (a callback parameter's values, its bridge requests): only the
/// connection that made the call gets them. A call without a connection (rivetkit's stateless
/// HTTP actions) has no one to send them to.
struct Caller<S: Surface>(Option<ConnCtx<SurfaceActor<S>>>);

impl<S: Surface> EventSink for Caller<S> {
    fn emit(&self, event: &str, payload: Value) {
        let Some(conn) = &self.0 else {
            tracing::debug!(
                event,
                "a call without a connection raised an event; dropped"
            );
            return;
        };
        let sent = to_json_value(&payload)
            .map_err(anyhow::Error::from)
            .and_then(|json| conn.send(event, &[json]));
        if let Err(err) = sent {
            tracing::error!(event, %err, "event not sent");
        }
    }
}

/// The actor's data directory: its name and a hash of its key, so any key is a safe path.
fn data_dir(root: &Path, name: &str, key: &rivetkit::ActorKey) -> PathBuf {
    let key = serde_json::to_vec(key).unwrap_or_default();
    let hash = Sha256::digest(&key);
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    root.join(name).join(hex)
}

#[async_trait::async_trait]
impl<S: Surface> Actor for SurfaceActor<S> {
    /// What outlives the actor's runner (mount table, sessions and their events, cron jobs,
    /// toolkits, the root's checkpoint) is in its SQL database in the engine (`database`),
    /// not in rivetkit's state.
    type State = ();
    type Input = ();
    type Actions = SurfaceActions<S>;
    type Events = ();
    type Queue = ();
    type ConnParams = Option<serde_json::Value>;
    type ConnState = ();
    type Action = Raw;

    async fn create_state(_ctx: &Ctx<Self>, _input: ()) -> Result<()> {
        Ok(())
    }

    async fn create(ctx: &Ctx<Self>) -> Result<Self> {
        let setup = setups()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&TypeId::of::<S>())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("surface served without agentos_rivet::register"))?;
        let dir = data_dir(&setup.root, ctx.name(), ctx.key());
        let opened = setup
            .kind
            .open(
                dir.clone(),
                Arc::new(Broadcast(ctx.clone())),
                setup.bridge_timeout,
                Services {
                    alarm: Some(Arc::new(alarm::EngineAlarm::new(ctx.clone()))),
                    database: Some(Arc::new(database::EngineDatabase::new(ctx.sql().clone()))),
                    preview_path: None,
                },
            )
            .await
            .map_err(to_rivet_error)?;
        Ok(Self {
            surface: Mutex::new(Some(opened.instance.surface)),
            bridges: opened.bridges,
            setup,
            dir,
            calls: AtomicU64::new(0),
            running: Mutex::default(),
            awake: awake::watch(ctx.clone(), opened.instance.lifecycle.clone()),
            lifecycle: opened.instance.lifecycle,
            _surface: PhantomData,
        })
    }

    /// The instance's last word first (the VM checkpoints its root), then the VM is dropped.
    async fn on_sleep(self: Arc<Self>, _ctx: Ctx<Self>) -> Result<()> {
        let lifecycle = self.lifecycle.clone();
        tokio::task::spawn_blocking(move || lifecycle.closing(Closing::Sleep)).await?;
        self.shut_down();
        Ok(())
    }

    async fn on_destroy(self: Arc<Self>, _ctx: Ctx<Self>) -> Result<()> {
        let lifecycle = self.lifecycle.clone();
        tokio::task::spawn_blocking(move || lifecycle.closing(Closing::Destroy)).await?;
        self.shut_down();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await??;
        Ok(())
    }
}

type ActionFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>>> + Send>>;

/// The surface's actions as a rivetkit action set: every contract action by name, plus
/// [`INIT_ACTION`], [`CALL_ACTION`] and [`WAKE_ACTION`], each dispatched into [`Surface::dispatch`].
pub struct SurfaceActions<S>(PhantomData<fn() -> S>);

impl<S: Surface> ActionSet<SurfaceActor<S>> for SurfaceActions<S> {
    fn entries() -> Vec<ActionEntry<SurfaceActor<S>>> {
        S::contract()
            .actions
            .iter()
            .map(|a| ActionEntry::new(a.name.as_str()))
            .chain([INIT_ACTION, CALL_ACTION, CANCEL_ACTION, WAKE_ACTION].map(ActionEntry::new))
            .collect()
    }

    fn dispatch(
        actor: Arc<SurfaceActor<S>>,
        ctx: Ctx<SurfaceActor<S>>,
        name: &str,
        args: &[u8],
    ) -> Option<ActionFuture> {
        let (name, args) = (name.to_owned(), args.to_vec());
        Some(Box::pin(async move {
            let limits = actor.setup.limits;
            actor
                .call(ctx, name, args)
                .await
                .and_then(|value| encode_output(&value, limits))
                .map_err(to_rivet_error)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_code_message_and_metadata_in_group_user() {
        let err =
            ActorError::not_found("/x: gone").with_metadata(serde_json::json!({"path": "/x"}));
        let rivet = rivet_error::RivetError::extract(&to_rivet_error(err));
        assert_eq!(
            (rivet.group(), rivet.code(), rivet.message()),
            ("user", "not_found", "/x: gone")
        );
        assert_eq!(
            rivet.metadata(),
            Some(serde_json::json!({"group": "agentos", "metadata": {"path": "/x"}}))
        );
    }

    #[test]
    fn arguments_lose_their_envelopes_and_results_gain_them() {
        let wire = serde_json::json!(["/f", ["$Uint8Array", "AAE="], ["$Undefined", 0]]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&wire, &mut bytes).unwrap();
        assert_eq!(
            decode_args(&bytes).unwrap(),
            vec![
                Value::Text("/f".into()),
                Value::Bytes(vec![0, 1]),
                Value::Null
            ]
        );
        let out = encode_output(&Value::Bytes(vec![0, 1]), Limits::default()).unwrap();
        let back: serde_json::Value = ciborium::from_reader(&out[..]).unwrap();
        assert_eq!(back, serde_json::json!(["$Uint8Array", "AAE="]));
    }

    #[test]
    fn data_directories_are_per_name_and_key() {
        let key = |s: &str| vec![rivetkit::ActorKeySegment::String(s.into())];
        let root = Path::new("/r");
        assert_ne!(
            data_dir(root, "agentOS", &key("a")),
            data_dir(root, "agentOS", &key("b"))
        );
        assert!(data_dir(root, "agentOS", &key("../..")).starts_with("/r/agentOS"));
    }
}
