//! The `agentos serve` binary killed with SIGKILL and started again on the same data
//! directory: what it recorded is consistent afterwards. A session that was live is ended
//! (`hostStopped`) and can be closed; a cron job is still scheduled.

use agentos_core::runtime::Value;
use agentos_tests::{ServeProcess, serve_command, text};

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(key, value)| (text(key), value.clone()))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkill_no_record_stays_live() {
    let data = tempfile::tempdir().unwrap();
    let host = ServeProcess::start(serve_command(data.path())).await;
    let mut vm = host.connect("crash").await;
    let quiet = map(&[("skipOsInstructions", Value::Bool(true))]);
    let session = vm
        .call("createSession", vec![text("test"), quiet])
        .await
        .unwrap();
    let session_id = session["sessionId"].as_str().unwrap().to_owned();
    vm.call("prompt", vec![text(&session_id), text("hello")])
        .await
        .unwrap();
    let job = map(&[
        ("schedule", text("0 0 1 1 *")),
        (
            "action",
            map(&[("type", text("exec")), ("command", text("true"))]),
        ),
    ]);
    let job = vm.call("scheduleCron", vec![job]).await.unwrap();
    host.kill().await;

    let host = ServeProcess::start(serve_command(data.path())).await;
    let mut vm = host.connect("crash").await;
    let sessions = vm.call("listPersistedSessions", vec![]).await.unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["sessionId"], session_id.as_str());
    assert_eq!(sessions[0]["endReason"], "hostStopped");
    assert!(sessions[0]["endedAt"].as_u64() >= sessions[0]["createdAt"].as_u64());
    assert_eq!(sessions[0]["events"], 1);
    // Closing it is no error: it has ended.
    assert_eq!(
        vm.call("closeSession", vec![text(&session_id)]).await,
        Ok(serde_json::Value::Null)
    );
    let jobs = vm.call("listCronJobs", vec![]).await.unwrap();
    assert_eq!(jobs[0]["id"], job["id"], "{jobs}");
    host.kill().await;
}
