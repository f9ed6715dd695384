//! Failover between two `agentos-rivet serve` processes on one engine pool: the runner that
//! holds the actor is killed with SIGKILL, and the other one serves the next call with the
//! actor's state (written through to the engine) and its files (as of the last checkpoint).
//! Which runner serves is read from their data directories: a runner makes the actor's VM
//! directory under its own when it starts the actor.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Engine, client, retrying, start_engine};
use rivetkit::client::GetOrCreateOptions;
use rivetkit::client::handle::ActorHandle;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Where the workspace's binaries are (`scripts/setup.sh` builds them); `var` overrides.
fn binary(var: &str, name: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/debug")
                .join(name)
        },
        PathBuf::from,
    )
}

/// An `agentos-rivet serve` process on `pool`, with the test agent registered as `test`, once
/// it has said it serves.
async fn runner(engine: &Engine, pool: &str, data: &Path) -> Child {
    let agent = binary("AGENTOS_TEST_AGENT", "agentos-test-agent");
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentos-rivet"))
        .args([
            "serve",
            "--endpoint",
            &engine.endpoint,
            "--pool",
            pool,
            "--data-dir",
        ])
        .arg(data)
        .arg("--agent")
        .arg(format!("test={}", agent.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("agentos-rivet starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("AGENTOS_RIVET_POOL=") {
            return child;
        }
    }
    panic!("agentos-rivet exited before serving");
}

/// Whether a runner with data directory `data` has started an `agentOS` actor.
fn holds_the_actor(data: &Path) -> bool {
    std::fs::read_dir(data.join("agentOS")).is_ok_and(|mut dirs| dirs.next().is_some())
}

async fn call(vm: &ActorHandle, name: &str, args: Vec<Value>) -> Value {
    retrying(|| vm.action(name, args.clone()))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_runner_serves_the_actor_after_a_sigkill() {
    let engine = start_engine();
    let pool = format!("agentos-failover-{}", std::process::id());
    let (first_data, second_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = runner(&engine, &pool, first_data.path()).await;
    let client = client(&engine, &pool);
    let vm = client
        .get_or_create(
            "agentOS",
            vec!["failover".into()],
            GetOrCreateOptions::default(),
        )
        .unwrap();

    call(&vm, "writeFile", vec![json!("/kept.txt"), json!("written")]).await;
    // Over the engine's 128 KiB limit on one statement's parameters: the checkpoint stores it
    // in several chunks.
    let exec = call(
        &vm,
        "exec",
        vec![json!(
            "echo ran > /by-exec.txt && head -c 1000000 /dev/urandom > /big.bin"
        )],
    )
    .await;
    assert_eq!(exec["exitCode"], json!(0), "{exec}");
    let job = json!({ "id": "tick", "schedule": "* * * * * *", "action": { "type": "event", "name": "tick" } });
    call(&vm, "scheduleCron", vec![job]).await;
    let toolkit = common::toolkit();
    call(&vm, "registerToolkit", vec![toolkit.clone()]).await;
    let session = call(&vm, "createSession", vec![json!("test")]).await;
    let session_id = session["sessionId"].clone();
    call(&vm, "prompt", vec![session_id.clone(), json!("hello")]).await;
    let events = call(&vm, "getSessionEvents", vec![session_id.clone()]).await;
    let events = events.as_array().unwrap().len();
    assert!(events > 0, "the prompt left events");
    call(&vm, "checkpoint", vec![]).await;
    let ran = loop {
        let jobs = call(&vm, "listCronJobs", vec![]).await;
        if let Some(count) = jobs[0]["runCount"].as_u64().filter(|n| *n > 0) {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(holds_the_actor(first_data.path()));

    let mut second = runner(&engine, &pool, second_data.path()).await;
    first.kill().await.unwrap();
    assert!(!holds_the_actor(second_data.path()));

    // The engine notices the runner is gone and starts the actor on the other one.
    let deadline = Instant::now() + Duration::from_secs(120);
    let kept = loop {
        match vm.action("readTextFile", vec![json!("/kept.txt")]).await {
            Ok(kept) => break kept,
            Err(err) => {
                assert!(
                    Instant::now() < deadline,
                    "no runner took the actor over: {err:#}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    assert!(
        holds_the_actor(second_data.path()),
        "the second runner served the call"
    );
    assert_eq!(kept, json!("written"));
    let by_exec = call(&vm, "readTextFile", vec![json!("/by-exec.txt")]).await;
    assert_eq!(by_exec, json!("ran\n"));
    let big = call(&vm, "stat", vec![json!("/big.bin")]).await;
    assert_eq!(big["size"], json!(1_000_000), "{big}");
    let jobs = call(&vm, "listCronJobs", vec![]).await;
    assert_eq!(jobs[0]["id"], json!("tick"), "{jobs}");
    assert!(jobs[0]["runCount"].as_u64().unwrap() >= ran, "{jobs}");
    let sessions = call(&vm, "listPersistedSessions", vec![]).await;
    assert_eq!(sessions[0]["sessionId"], session_id, "{sessions}");
    assert_eq!(sessions[0]["endReason"], json!("hostStopped"), "{sessions}");
    let after = call(&vm, "getSessionEvents", vec![session_id]).await;
    assert_eq!(
        after.as_array().unwrap().len(),
        events,
        "every persisted event came back"
    );
    assert_eq!(call(&vm, "listToolkits", vec![]).await, json!([toolkit]));
    second.kill().await.unwrap();
}
