//! What callback parameters become on the wire. An [`Emitter`] is fire-and-forget: each value
//! is an event whose payload carries the call id. A [`Bridge`] asks connected clients for an
//! answer: a request event plus a generated response action, bounded by a timeout. The actor
//! asks questions of its own (declared in `#[surface(bridges(…))]`) through [`ActorEvents`],
//! on the same [`BridgeHub`].

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::sync::oneshot;
use ts_rs::TS;

use super::instance::Services;
use super::{ActorError, CallContext, EventSink, Value, code, from_value, to_value};

/// Streams values of `T` to clients as events of one name, tagged with the call's id.
pub struct Emitter<T> {
    event: &'static str,
    ctx: CallContext,
    _data: PhantomData<fn(T)>,
}

/// The payload of an emitter's event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallEvent<'a, T> {
    call_id: &'a str,
    data: &'a T,
}

impl<T: Serialize> Emitter<T> {
    pub(crate) fn new(event: &'static str, ctx: CallContext) -> Self {
        Self {
            event,
            ctx,
            _data: PhantomData,
        }
    }

    /// An emitter whose values go nowhere: for Rust code that calls a core method itself
    /// and wants only its result (an app's own action running `exec`, say).
    pub fn discard() -> Self {
        let ctx = CallContext::new(
            String::new(),
            Arc::new(super::Discard),
            Arc::new(BridgeHub::new(Duration::ZERO)),
            super::Limits::default(),
        );
        Self::new("", ctx)
    }

    /// Sends one value. A value that cannot be encoded is a bug in the core; it is logged.
    pub fn emit(&self, data: &T) {
        let payload = CallEvent {
            call_id: self.ctx.call_id(),
            data,
        };
        match to_value(&payload) {
            Ok(value) => self.ctx.events().emit(self.event, value),
            Err(err) => tracing::error!(event = self.event, %err, "event payload did not encode"),
        }
    }

    /// The largest message the host accepts: size streamed chunks below it.
    pub fn max_message_bytes(&self) -> usize {
        self.ctx.limits().max_message_bytes as usize
    }
}

/// Where an actor's own events go — those not raised by a call, such as a shell's output
/// long after `openShell` returned — and where its own bridge questions are asked. The host
/// hands one to the core when it creates the actor; the surface's generated `…Events` type
/// wraps it with one typed method per event and per actor bridge.
#[derive(Clone)]
pub struct ActorEvents {
    sink: Arc<dyn EventSink>,
    bridges: Arc<BridgeHub>,
    services: Services,
}

impl ActorEvents {
    /// Events to `sink`, with a bridge hub of their own: no client can answer the actor's
    /// questions, which time out. For a core used without a host.
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Self::with_bridges(sink, Arc::new(BridgeHub::new(Duration::ZERO)))
    }

    /// Events to `sink`, questions answered through the response actions that `bridges`
    /// serves: a host passes the hub its calls' contexts carry.
    pub fn with_bridges(sink: Arc<dyn EventSink>, bridges: Arc<BridgeHub>) -> Self {
        Self {
            sink,
            bridges,
            services: Services::default(),
        }
    }

    /// The same, with what else the host lends the instance.
    pub fn with_services(self, services: Services) -> Self {
        Self { services, ..self }
    }

    /// What else the host lends the instance.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Raises `event` with `data` as its payload. A payload that cannot be encoded is a bug
    /// in the core; it is logged.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        match to_value(data) {
            Ok(value) => self.sink.emit(event, value),
            Err(err) => tracing::error!(event, %err, "event payload did not encode"),
        }
    }

    /// Asks connected clients through bridge `name` and waits up to `timeout`.
    pub async fn ask<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        name: &'static str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, ActorError> {
        self.bridges
            .ask(&*self.sink, name, None, request, timeout)
            .await
    }
}

/// A client's answer to a bridge request: `{ ok: value }` or `{ err: message }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum BridgeOutcome<T> {
    Ok(T),
    Err(String),
}

/// Asks connected clients to compute a `Resp` for a `Req`.
pub struct Bridge<Req, Resp> {
    name: &'static str,
    ctx: CallContext,
    _types: PhantomData<fn(Req) -> Resp>,
}

/// Withdraws a bridge request when its asker stops waiting.
struct Withdraw<'a>(&'a BridgeHub, &'a str);

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

/// The payload of a bridge request event; `callId` only when a call asks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BridgeRequest<'a, T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    call_id: Option<&'a str>,
    request_id: &'a str,
    data: &'a T,
}

impl<Req: Serialize, Resp: DeserializeOwned> Bridge<Req, Resp> {
    pub(crate) fn new(name: &'static str, ctx: CallContext) -> Self {
        Self {
            name,
            ctx,
            _types: PhantomData,
        }
    }

    /// Emits the request and waits for the first valid answer, or the hub's timeout.
    pub async fn call(&self, request: &Req) -> Result<Resp, ActorError> {
        let hub = self.ctx.bridges();
        hub.ask(
            &**self.ctx.events(),
            self.name,
            Some(self.ctx.call_id()),
            request,
            hub.timeout,
        )
        .await
    }
}

/// Pending bridge requests of one actor, answered by the generated response actions.
pub struct BridgeHub {
    pending: Mutex<HashMap<String, (&'static str, oneshot::Sender<Value>)>>,
    timeout: Duration,
}

impl BridgeHub {
    pub fn new(timeout: Duration) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            timeout,
        }
    }

    /// Raises the request event for bridge `name` on `events` and waits up to `timeout` for
    /// the first valid answer: the one path both call and actor bridges take.
    async fn ask<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        events: &dyn EventSink,
        name: &'static str,
        call_id: Option<&str>,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, ActorError> {
        let request_id = format!("{:032x}", rand::random::<u128>());
        let payload = to_value(&BridgeRequest {
            call_id,
            request_id: &request_id,
            data: request,
        })?;
        let answer = self.register(name, &request_id);
        // However the wait ends (a timeout, or the call cancelled and this future dropped),
        // the request is withdrawn: a late answer is `not_found`.
        let _withdraw = Withdraw(self, &request_id);
        events.emit(name, payload);
        let outcome = match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(value)) => value,
            _ => {
                return Err(ActorError::timeout(format!(
                    "no client answered bridge `{name}` within {timeout:?}; register a handler with client.handle(\"{name}\", …)"
                )));
            }
        };
        match from_value::<BridgeOutcome<Resp>>(&outcome) {
            Ok(BridgeOutcome::Ok(resp)) => Ok(resp),
            Ok(BridgeOutcome::Err(message)) => Err(ActorError::new(
                super::GROUP_AGENTOS,
                code::BRIDGE_FAILED,
                format!("bridge `{name}` handler failed: {message}"),
            )),
            Err(msg) => Err(ActorError::internal(msg)),
        }
    }

    fn register(&self, bridge: &'static str, request_id: &str) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(request_id.to_owned(), (bridge, tx));
        rx
    }

    fn forget(&self, request_id: &str) {
        self.lock().remove(request_id);
    }

    /// Delivers an already-validated answer; the first one wins, later ones are `not_found`.
    pub fn resolve(
        &self,
        bridge: &str,
        request_id: &str,
        outcome: Value,
    ) -> Result<(), ActorError> {
        let mut pending = self.lock();
        match pending.get(request_id) {
            Some((name, _)) if *name == bridge => {
                let (_, tx) = pending.remove(request_id).expect("entry just seen");
                // The caller may have timed out between the lookup and now; nothing to do then.
                let _ = tx.send(outcome);
                Ok(())
            }
            _ => Err(ActorError::not_found(format!(
                "no pending `{bridge}` request `{request_id}` (already answered or timed out)"
            ))),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (&'static str, oneshot::Sender<Value>)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request ids of the bridge requests raised.
    #[derive(Default)]
    struct Requests(Mutex<Vec<String>>);

    impl EventSink for Requests {
        fn emit(&self, _event: &str, payload: Value) {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Request {
                request_id: String,
            }
            let request: Request = from_value(&payload).expect("a bridge request");
            self.0.lock().unwrap().push(request.request_id);
        }
    }

    /// A call cancelled while its bridge request waits (its future dropped) withdraws it.
    #[tokio::test]
    async fn a_request_whose_asker_is_dropped_is_withdrawn() {
        let hub = Arc::new(BridgeHub::new(Duration::from_secs(60)));
        let requests = Arc::new(Requests::default());
        let (asker, sink) = (hub.clone(), requests.clone());
        let asking = tokio::spawn(async move {
            asker
                .ask::<_, Value>(&*sink, "toolCall", None, &1, Duration::from_secs(60))
                .await
        });
        let request_id = loop {
            if let Some(id) = requests.0.lock().unwrap().first().cloned() {
                break id;
            }
            tokio::task::yield_now().await;
        };
        asking.abort();
        assert!(asking.await.unwrap_err().is_cancelled());
        let late = hub
            .resolve("toolCall", &request_id, Value::Null)
            .unwrap_err();
        assert_eq!(late.code, code::NOT_FOUND);
    }
}
