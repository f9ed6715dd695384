//! The actor's state lives in the engine, not on the runner: a runner serves the actor and is
//! stopped, its whole data directory is deleted, and a new runner with an empty one serves the
//! same actor key. Cron jobs (with their run count), the mount table and registered toolkits
//! come back, and so do the VM's files: stopping the runner puts the actor to sleep, which
//! checkpoints the root into the engine. Its own
//! binary: one envoy per process at a time (docs/rivetkit.md).

mod common;

use std::path::Path;

use agentos_core::{AgentOs, VmConfig};
use agentos_rivet::Setup;
use common::{Engine, Served, retrying, serve, start_engine};
use rivetkit::Registry;
use rivetkit::client::GetOrCreateOptions;
use serde_json::{Value, json};

/// A runner serving `agentOS` under `pool`, its VMs under `data`.
fn runner(engine: &Engine, pool: &str, data: &Path) -> Served {
    let mut registry = Registry::new();
    agentos_rivet::register::<AgentOs>(
        &mut registry,
        "agentOS",
        Setup::new(data.to_owned(), |dir, events| {
            AgentOs::open(dir, VmConfig::default(), events)
        }),
    );
    serve(registry, engine, pool)
}

async fn call(served: &Served, name: &str, args: Vec<Value>) -> Value {
    let vm = served
        .client
        .get_or_create(
            "agentOS",
            vec!["moved".into()],
            GetOrCreateOptions::default(),
        )
        .unwrap();
    retrying(|| vm.action(name, args.clone()))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_cron_jobs_mounts_and_toolkits_outlive_the_runners_disk() {
    let engine = start_engine();
    let pool = format!("agentos-state-{}", std::process::id());

    let first = tempfile::tempdir().unwrap();
    let served = runner(&engine, &pool, first.path());
    let job = json!({
        "id": "tick",
        // Every second, so that it has run before the runner goes.
        "schedule": "* * * * * *",
        "action": { "type": "event", "name": "tick" },
    });
    call(&served, "scheduleCron", vec![job]).await;
    call(
        &served,
        "mountFs",
        vec![json!("/scratch"), json!({ "type": "memory" })],
    )
    .await;
    let toolkit = common::toolkit();
    call(&served, "registerToolkit", vec![toolkit.clone()]).await;
    call(
        &served,
        "writeFile",
        vec![json!("/kept.txt"), json!("written")],
    )
    .await;
    let exec = call(
        &served,
        "exec",
        vec![json!("mkdir -p /work && echo ran > /work/by-exec.txt")],
    )
    .await;
    assert_eq!(exec["exitCode"], json!(0), "{exec}");
    let ran = loop {
        let jobs = call(&served, "listCronJobs", vec![]).await;
        let count = jobs[0]["runCount"].as_u64().unwrap();
        if count > 0 {
            break count;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    served.stop().await;
    drop(first);

    let second = tempfile::tempdir().unwrap();
    let served = runner(&engine, &pool, second.path());
    let jobs = call(&served, "listCronJobs", vec![]).await;
    assert_eq!(jobs[0]["id"], json!("tick"), "{jobs}");
    assert!(
        jobs[0]["runCount"].as_u64().unwrap() >= ran,
        "the run count came back: {jobs}"
    );
    let mounts = call(&served, "listMounts", vec![]).await;
    let scratch = mounts
        .as_array()
        .unwrap()
        .iter()
        .find(|mount| mount["path"] == json!("/scratch"))
        .unwrap_or_else(|| panic!("the mount came back: {mounts}"));
    assert_eq!(scratch["restored"], json!({ "kind": "empty" }), "{mounts}");
    let toolkits = call(&served, "listToolkits", vec![]).await;
    assert_eq!(toolkits, json!([toolkit]));
    let kept = call(&served, "readTextFile", vec![json!("/kept.txt")]).await;
    assert_eq!(kept, json!("written"));
    let by_exec = call(&served, "readTextFile", vec![json!("/work/by-exec.txt")]).await;
    assert_eq!(by_exec, json!("ran\n"));
    served.stop().await;
}
