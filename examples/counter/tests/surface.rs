//! The counter's contract and a call through `Surface::dispatch`, as a host makes it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentos_example_counter::{Change, Counter};
use agentos_runtime::{
    BridgeHub, CallContext, Discard, EventSink, Limits, Surface, Value, code, from_value, to_value,
};

fn context(sink: Arc<dyn EventSink>) -> CallContext {
    CallContext::new(
        "call-1".to_owned(),
        sink,
        Arc::new(BridgeHub::new(Duration::ZERO)),
        Limits::default(),
    )
}

#[test]
fn the_contract_lists_the_actions_and_the_event() {
    let contract = <Counter as Surface>::contract();
    assert_eq!(contract.actor, "counter");
    let actions: Vec<_> = contract.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(actions, ["get", "increment", "reset"]);
    let increment = &contract.actions[1];
    assert_eq!(increment.params[0].name, "by");
    assert!(increment.params[0].optional);
    assert_eq!(increment.callbacks[0].option, "onChange");
    assert_eq!(increment.returns, "number");
    let events: Vec<_> = contract.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["changed"]);
    assert!(
        contract.types.contains_key("Change"),
        "{:?}",
        contract.types
    );
}

#[tokio::test]
async fn a_call_dispatches_to_the_method() {
    let counter = Counter::default();
    let ctx = context(Arc::new(Discard));
    let value = counter
        .dispatch("increment", vec![to_value(&5).unwrap()], &ctx)
        .await
        .unwrap();
    assert_eq!(from_value::<i32>(&value), Ok(5));
    // A trailing optional argument may be omitted.
    counter.dispatch("increment", vec![], &ctx).await.unwrap();
    let value = counter.dispatch("get", vec![], &ctx).await.unwrap();
    assert_eq!(from_value::<i32>(&value), Ok(6));
    assert_eq!(
        counter.dispatch("reset", vec![], &ctx).await,
        Ok(Value::Null)
    );
    let err = counter
        .dispatch("increment", vec![to_value("five").unwrap()], &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.code, code::INVALID_INPUT);
    let err = counter
        .dispatch("decrement", vec![], &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.code, code::UNKNOWN_ACTION);
}

/// Keeps every event a call raises.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Value)>>);

impl EventSink for Recorder {
    fn emit(&self, event: &str, payload: Value) {
        self.0.lock().unwrap().push((event.to_owned(), payload));
    }
}

#[tokio::test]
async fn the_emitter_raises_the_event_with_the_call_id() {
    let counter = Counter::default();
    let recorder = Arc::new(Recorder::default());
    let ctx = context(recorder.clone());
    counter
        .dispatch("increment", vec![to_value(&2).unwrap()], &ctx)
        .await
        .unwrap();
    let events = recorder.0.lock().unwrap();
    let [(name, payload)] = &events[..] else {
        panic!("one event: {events:?}")
    };
    assert_eq!(name, "changed");
    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Payload {
        call_id: String,
        data: Change,
    }
    assert_eq!(
        from_value::<Payload>(payload),
        Ok(Payload {
            call_id: "call-1".to_owned(),
            data: Change { from: 0, to: 2 }
        })
    );
}

/// What this example is for: a surface of its own needs neither the VM nor a host.
#[test]
fn builds_without_agentos_core() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "agentos-example-counter",
            "-e",
            "normal,build",
        ])
        .args(["--prefix", "none", "--offline", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && tree.contains("agentos-runtime"),
        "{tree}"
    );
    assert!(!tree.contains("agentos-core"), "{tree}");
}
