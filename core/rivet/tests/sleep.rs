//! An actor put to sleep by the engine and woken by the next call: its VM is dropped on sleep
//! and reopened on wake from the same data directory, so files written before the sleep are
//! there after it. Stateless calls (a connection each) let the actor idle; a short sleep
//! timeout makes it sleep soon. Its own binary: one envoy per process (docs/rivetkit.md).

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agentos_core::vm::sandbox::SandboxMode;
use agentos_core::{AgentOs, VmConfig};
use common::{retrying, serve, sleepy_setup, start_engine};
use rivetkit::Registry;
use rivetkit::client::GetOrCreateOptions;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_files_survive_the_actor_sleeping_and_waking() {
    let engine = start_engine();
    let data = tempfile::tempdir().unwrap();
    let pool = format!("agentos-sleep-{}", std::process::id());
    let vm = VmConfig {
        sandbox: SandboxMode::None,
        ..VmConfig::default()
    };
    let (setup, opened) = sleepy_setup(data.path(), vm);
    let mut registry = Registry::new();
    agentos_rivet::register::<AgentOs>(&mut registry, "agentOS", setup);
    let served = serve(registry, &engine, &pool);
    let vm = served
        .client
        .get_or_create(
            "agentOS",
            vec!["sleepy".into()],
            GetOrCreateOptions::default(),
        )
        .unwrap();

    retrying(|| {
        vm.action(
            "writeFile",
            vec![json!("/kept.txt"), json!("before the sleep")],
        )
    })
    .await
    .unwrap();
    assert_eq!(opened.load(Ordering::SeqCst), 1);
    // Idle past the sleep timeout; the next call wakes the actor, which reopens its VM.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let text = retrying(|| vm.action("readTextFile", vec![json!("/kept.txt")]))
            .await
            .unwrap();
        assert_eq!(text, json!("before the sleep"));
        if opened.load(Ordering::SeqCst) > 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the actor never slept");
    }

    served.stop().await;
}
