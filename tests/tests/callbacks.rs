//! Emitters and bridges through the host-neutral `Surface` trait: events carry the call id,
//! a bridge request is answered through its generated response action, the first valid
//! answer wins, invalid answers are refused without consuming the request, and a bridge
//! nobody answers times out with a typed error. The actor's own bridges (asked outside any
//! call) take the same path through the same hub.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentos_core::runtime::{
    ActionArgs, ActorError, ActorEvents, Bridge, BridgeHub, CallContext, Emitter, EventScope,
    EventSink, Limits, Surface, Value,
};
use serde_json::json;

pub struct Core {
    events: CoreEvents,
}

#[agentos_core::surface(actor = "demo", events(alarm = String), bridges(approve = String => bool))]
impl Core {
    /// Rings the alarm: an event of the actor itself, after the call has returned.
    #[action]
    pub fn ring_later(&self, message: String) {
        let events = self.events.clone();
        tokio::spawn(async move { events.alarm(&message) });
    }

    /// Counts to `n`, raising a `tick` for each number.
    #[action]
    pub fn count(&self, n: u32, #[event("tick")] on_tick: Emitter<u32>) -> u32 {
        (1..=n).for_each(|i| on_tick.emit(&i));
        n
    }

    /// Asks a client to double `x`.
    #[action]
    pub async fn double(
        &self,
        x: i64,
        #[bridge("doubler")] doubler: Bridge<i64, i64>,
    ) -> Result<i64, ActorError> {
        doubler.call(&x).await
    }

    #[unsupported(reason = "live handles cannot cross the wire")]
    pub fn raw_handle(&self) {}
}

/// Records events, as a host's subscribers would receive them.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, serde_json::Value)>>);

impl EventSink for Recorder {
    fn emit(&self, event: &str, payload: Value) {
        let json = agentos_core::runtime::from_value::<serde_json::Value>(&payload).unwrap();
        self.0.lock().unwrap().push((event.to_owned(), json));
    }
}

fn ctx(call_id: &str, events: &Arc<Recorder>, hub: &Arc<BridgeHub>) -> CallContext {
    CallContext::new(
        call_id.into(),
        events.clone(),
        hub.clone(),
        Limits::default(),
    )
}

impl Recorder {
    /// The first recorded event matching `pred`, waiting for it to arrive.
    async fn first(
        &self,
        pred: impl Fn(&(String, serde_json::Value)) -> bool,
    ) -> (String, serde_json::Value) {
        loop {
            if let Some(event) = self.0.lock().unwrap().iter().find(|e| pred(e)).cloned() {
                return event;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A `Core` whose own events go to `sink`.
fn core(sink: &Arc<Recorder>) -> Core {
    Core {
        events: CoreEvents::new(ActorEvents::new(sink.clone())),
    }
}

/// A `Core` whose own questions are answered through `hub`, as a host wires it.
fn hosted_core(sink: &Arc<Recorder>, hub: &Arc<BridgeHub>) -> Core {
    Core {
        events: CoreEvents::new(ActorEvents::with_bridges(sink.clone(), hub.clone())),
    }
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

#[tokio::test]
async fn emitter_events_carry_the_call_id() {
    let (events, hub) = (
        Arc::new(Recorder::default()),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
    );
    // Rust callers build the DTO with named fields; it travels positionally.
    let args = core_actions::Count { n: 3 }.into_args().unwrap();
    assert_eq!(args, vec![int(3)]);
    let out = core(&events)
        .dispatch("count", args, &ctx("c1:7", &events, &hub))
        .await
        .unwrap();
    assert_eq!(out, int(3));
    let seen = events.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        (1..=3)
            .map(|i| ("tick".to_owned(), json!({ "callId": "c1:7", "data": i })))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_bridge_is_answered_through_its_response_action() {
    let (events, hub) = (
        Arc::new(Recorder::default()),
        Arc::new(BridgeHub::new(Duration::from_secs(5))),
    );
    let caller = tokio::spawn({
        let (ctx, core) = (ctx("c1:1", &events, &hub), core(&events));
        async move { core.dispatch("double", vec![int(21)], &ctx).await }
    });
    let request = events.first(|_| true).await;
    assert_eq!(request.0, "doubler");
    assert_eq!(request.1["callId"], "c1:1");
    assert_eq!(request.1["data"], 21);
    let id = Value::Text(request.1["requestId"].as_str().unwrap().into());
    let answer = |v: Value| Value::Map(vec![(Value::Text("ok".into()), v)]);
    let responder = ctx("c2:1", &events, &hub);

    // A wrong type is refused and does not consume the request.
    let err = core(&events)
        .dispatch(
            "respondDoubler",
            vec![id.clone(), answer(Value::Text("x".into()))],
            &responder,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "invalid_input");
    core(&events)
        .dispatch(
            "respondDoubler",
            vec![id.clone(), answer(int(42))],
            &responder,
        )
        .await
        .unwrap();
    // The first valid answer won; a second is not_found.
    let err = core(&events)
        .dispatch("respondDoubler", vec![id, answer(int(0))], &responder)
        .await
        .unwrap_err();
    assert_eq!(err.code, "not_found");
    assert_eq!(caller.await.unwrap().unwrap(), int(42));
}

#[tokio::test]
async fn a_handler_error_and_an_unanswered_bridge_are_typed_errors() {
    let (events, hub) = (
        Arc::new(Recorder::default()),
        Arc::new(BridgeHub::new(Duration::from_millis(100))),
    );
    let err = core(&events)
        .dispatch("double", vec![int(1)], &ctx("c1:1", &events, &hub))
        .await
        .unwrap_err();
    assert_eq!(err.code, "timeout");
    assert!(
        err.message.contains("client.handle(\"doubler\""),
        "{}",
        err.message
    );

    let hub = Arc::new(BridgeHub::new(Duration::from_secs(5)));
    let caller = tokio::spawn({
        let (ctx, core) = (ctx("c1:2", &events, &hub), core(&events));
        async move { core.dispatch("double", vec![int(1)], &ctx).await }
    });
    let id = events.first(|(_, p)| p["callId"] == "c1:2").await.1["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let failure = Value::Map(vec![(
        Value::Text("err".into()),
        Value::Text("no doubling today".into()),
    )]);
    core(&events)
        .dispatch(
            "respondDoubler",
            vec![Value::Text(id), failure],
            &ctx("c2:1", &events, &hub),
        )
        .await
        .unwrap();
    let err = caller.await.unwrap().unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.contains("no doubling today")),
        ("bridge_failed", true)
    );
}

#[tokio::test]
async fn unsupported_methods_answer_with_their_reason() {
    let (events, hub) = (
        Arc::new(Recorder::default()),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
    );
    let err = core(&events)
        .dispatch("rawHandle", vec![], &ctx("c1:1", &events, &hub))
        .await
        .unwrap_err();
    assert_eq!(err.code, "unsupported");
    assert!(err.message.contains("live handles cannot cross the wire"));
    let contract = <Core as Surface>::contract();
    assert_eq!(
        contract.unsupported[0].reason.as_deref(),
        Some("live handles cannot cross the wire")
    );
    let doubler = contract
        .bridges
        .iter()
        .find(|b| b.name == "doubler")
        .unwrap();
    assert_eq!(
        (doubler.respond_action.as_str(), doubler.scope),
        ("respondDoubler", EventScope::Call)
    );
    assert_eq!(contract.events[0].name, "tick");
}

#[tokio::test]
async fn actor_events_carry_their_data_after_the_call() {
    let (events, hub) = (
        Arc::new(Recorder::default()),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
    );
    let out = core(&events)
        .dispatch(
            "ringLater",
            vec![Value::Text("wake up".into())],
            &ctx("c1:1", &events, &hub),
        )
        .await
        .unwrap();
    assert_eq!(out, Value::Null);
    let seen = events.first(|_| true).await;
    assert_eq!(seen, ("alarm".to_owned(), json!("wake up")));
    let alarm = <Core as Surface>::contract()
        .events
        .iter()
        .find(|e| e.name == "alarm")
        .unwrap();
    assert_eq!(
        (alarm.scope, alarm.data.as_str()),
        (EventScope::Actor, "string")
    );
}

#[tokio::test]
async fn an_actor_bridge_is_answered_outside_any_call_and_times_out_per_request() {
    let (events, hub) = (
        Arc::new(Recorder::default()),
        // The hub's own timeout is for call bridges; the actor passes one per request.
        Arc::new(BridgeHub::new(Duration::ZERO)),
    );
    let core = Arc::new(hosted_core(&events, &hub));
    let asker = tokio::spawn({
        let core = core.clone();
        async move {
            core.events
                .approve(&"rm -rf /tmp/x".to_owned(), Duration::from_secs(5))
                .await
        }
    });
    let (name, request) = events.first(|_| true).await;
    assert_eq!(name, "approve");
    // No call asked, so the request carries no call id.
    assert_eq!(request.get("callId"), None);
    assert_eq!(request["data"], "rm -rf /tmp/x");
    let id = Value::Text(request["requestId"].as_str().unwrap().into());
    let answer = |v: Value| Value::Map(vec![(Value::Text("ok".into()), v)]);
    core.dispatch(
        "respondApprove",
        vec![id, answer(Value::Bool(true))],
        &ctx("c2:1", &events, &hub),
    )
    .await
    .unwrap();
    assert!(asker.await.unwrap().unwrap());

    let err = core
        .events
        .approve(&"again".to_owned(), Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(err.code, "timeout");
    assert!(
        err.message.contains("client.handle(\"approve\""),
        "{}",
        err.message
    );

    let spec = <Core as Surface>::contract()
        .bridges
        .iter()
        .find(|b| b.name == "approve")
        .unwrap();
    assert_eq!(
        (
            spec.scope,
            spec.request.as_str(),
            spec.response.as_str(),
            spec.respond_action.as_str()
        ),
        (EventScope::Actor, "string", "boolean", "respondApprove")
    );
}
