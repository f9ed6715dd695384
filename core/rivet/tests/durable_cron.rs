//! A cron job due while its actor sleeps: the instance asks the engine's durable schedule to
//! wake it, so the job runs with no client calling, and the next call sees what it did. Its
//! own binary: one envoy per process (docs/rivetkit.md).

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agentos_core::{AgentOs, VmConfig};
use chrono::Timelike;
use common::{retrying, serve, sleepy_setup, start_engine};
use rivetkit::Registry;
use rivetkit::client::GetOrCreateOptions;
use serde_json::json;

/// Whether a file named `name` is anywhere under `dir`.
fn contains_file(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let path = entry.path();
            entry.file_name() == name
                || (path.is_dir() && !path.is_symlink() && contains_file(&path, name))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_due_while_the_actor_sleeps_wakes_it_and_runs() {
    let engine = start_engine();
    let data = tempfile::tempdir().unwrap();
    let pool = format!("agentos-cron-{}", std::process::id());
    let (setup, opened) = sleepy_setup(data.path(), VmConfig::default());
    let mut registry = Registry::new();
    agentos_rivet::register::<AgentOs>(&mut registry, "agentOS", setup);
    let served = serve(registry, &engine, &pool);
    let vm = served
        .client
        .get_or_create(
            "agentOS",
            vec!["cron".into()],
            GetOrCreateOptions::default(),
        )
        .unwrap();

    // Once a minute, first well after the actor, idle past its 0.5 s sleep timeout, has gone
    // to sleep.
    let due = chrono::Utc::now() + chrono::Duration::seconds(6);
    let job = json!({
        "id": "wake",
        "schedule": format!("{} * * * * *", due.second()),
        "action": { "type": "exec", "command": "echo ran >> /fired.txt" },
    });
    retrying(|| vm.action("scheduleCron", vec![job.clone()]))
        .await
        .unwrap();
    assert_eq!(opened.load(Ordering::SeqCst), 1);

    // No call until the job's file is on disk: only the engine can have started the actor.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !contains_file(data.path(), "fired.txt") {
        assert!(Instant::now() < deadline, "the job never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        opened.load(Ordering::SeqCst),
        2,
        "the job ran in a VM opened again after the actor slept"
    );

    let text = retrying(|| vm.action("readTextFile", vec![json!("/fired.txt")]))
        .await
        .unwrap();
    assert_eq!(text, json!("ran\n"));
    let jobs = retrying(|| vm.action("listCronJobs", vec![]))
        .await
        .unwrap();
    assert_eq!(jobs[0]["id"], json!("wake"), "{jobs}");
    assert_eq!(jobs[0]["runCount"], json!(1), "{jobs}");

    served.stop().await;
}
