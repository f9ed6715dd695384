//! The adapter through a real Rivet Engine: the engine binary from the npm lockfile
//! (`bindings/node_modules/@rivetkit/engine-cli-linux-x64-musl`, installed by `scripts/setup.sh`,
//! or `RIVET_ENGINE_BINARY_PATH`), started by hand on loopback with fresh storage, the agentOS
//! actor served in-process under a fixed pool, and rivetkit's own Rust client calling generated
//! actions (typed, through the generated DTOs, and by name) and receiving a broadcast event. One test: one envoy per process (docs/rivetkit.md).

mod common;

use std::time::Duration;

use agentos_core::agent_os_actions as dto;
use agentos_core::vm::fs::FileContent;
use agentos_core::vm::sandbox::SandboxMode;
use agentos_core::{AgentOs, VmConfig};
use agentos_rivet::{Setup, SurfaceActor};
use common::{retrying, serve, start_engine};
use rivetkit::client::GetOrCreateOptions;
use rivetkit::{Registry, TypedActorConnection, TypedClientExt};
use serde_json::{Value, json};

/// Calls an action by name over a connection, retrying while the actor is still being placed.
async fn call(
    conn: &rivetkit::client::connection::ActorConnection,
    name: &str,
    args: Vec<Value>,
) -> anyhow::Result<Value> {
    retrying(|| conn.action(name, args.clone())).await
}

/// Calls an action through its generated DTO with rivetkit's typed client (`action` builds the
/// DTO for each attempt).
async fn typed<M: rivetkit::Action>(
    conn: &TypedActorConnection<SurfaceActor<AgentOs>>,
    action: impl Fn() -> M,
) -> anyhow::Result<M::Output> {
    retrying(|| conn.call(action())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_actions_and_a_broadcast_event_through_a_real_engine() {
    let engine = start_engine();
    let data = tempfile::tempdir().unwrap();
    let pool = format!("agentos-rust-{}", std::process::id());
    let mut registry = Registry::new();
    let vm = VmConfig {
        sandbox: SandboxMode::None,
        ..VmConfig::default()
    };
    agentos_rivet::register::<AgentOs>(
        &mut registry,
        "agentOS",
        Setup::new(data.path().to_owned(), move |dir, events| {
            AgentOs::open(dir, vm.clone(), events)
        }),
    );
    let served = serve(registry, &engine, &pool);

    let vm = served
        .client
        .get_or_create_typed::<SurfaceActor<AgentOs>>(
            "agentOS",
            ["rust-test"],
            GetOrCreateOptions::default(),
        )
        .unwrap()
        .connect();
    let conn = vm.inner();

    let (tx, mut chunks) = tokio::sync::mpsc::unbounded_channel::<Vec<Value>>();
    let _sub = conn
        .on_event("snapshotChunk", move |args| {
            let _ = tx.send(args.clone());
        })
        .await;

    // The generated DTOs are rivetkit actions: typed arguments, typed results.
    typed(&vm, || dto::WriteFile {
        path: "/hello.txt".into(),
        content: FileContent::Text("héllo".into()),
    })
    .await
    .unwrap();
    let text: String = typed(&vm, || dto::ReadTextFile {
        path: "/hello.txt".into(),
    })
    .await
    .unwrap();
    assert_eq!(text, "héllo");
    let exists: bool = typed(&vm, || dto::Exists {
        path: "/hello.txt".into(),
    })
    .await
    .unwrap();
    assert!(exists);
    // Bytes travel as RivetKit's envelope both ways.
    call(
        conn,
        "writeFile",
        vec![json!("/b.bin"), json!(["$Uint8Array", "AAH/"])],
    )
    .await
    .unwrap();
    assert_eq!(
        call(conn, "readFile", vec![json!("/b.bin")]).await.unwrap(),
        json!(["$Uint8Array", "AAH/"])
    );

    // A call-scoped event, broadcast while the call runs, reaches the subscribed connection.
    let info = call(conn, "snapshotRootFilesystem", vec![]).await.unwrap();
    assert!(info["size"].as_u64().unwrap() > 0, "{info}");
    let event = tokio::time::timeout(Duration::from_secs(10), chunks.recv())
        .await
        .expect("a snapshotChunk event")
        .unwrap();
    assert_eq!(event.len(), 1, "one argument: the payload");
    assert!(event[0]["callId"].is_string(), "{event:?}");

    // A typed error keeps its code and message in group `user`.
    let err = typed(&vm, || dto::ReadTextFile {
        path: "/missing".into(),
    })
    .await
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("not_found"), "{text}");

    vm.disconnect().await;
    served.stop().await;
}
