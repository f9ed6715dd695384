//! 1,000 sandboxed execs, and 1,000 shells opened and closed, leave the host process with the
//! open file descriptors and child processes it started with. nextest runs each test in a
//! process of its own, so the counts are this test's alone.
//!
//! An exec enters namespaces that the VM keeps open for its view (a few descriptors, no
//! process): the warm-up opens them, so they are in the counts before and after.

use std::sync::Arc;
use std::time::Duration;

use agentos_core::runtime::{ActorEvents, BridgeHub, CallContext, Discard, Limits, Surface, Value};
use agentos_core::{AgentOs, VmConfig};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn children() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|task| {
            let path = task.unwrap().path().join("children");
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .split_whitespace()
                .count()
        })
        .sum()
}

/// A VM with nobody listening to its events, and a context to call it with.
fn vm() -> (tempfile::TempDir, AgentOs, CallContext) {
    let dir = tempfile::tempdir().unwrap();
    let os = AgentOs::open(
        dir.path(),
        VmConfig::default(),
        ActorEvents::new(Arc::new(Discard)),
    )
    .unwrap();
    let ctx = CallContext::new(
        "leaks:1".into(),
        Arc::new(Discard),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    );
    (dir, os, ctx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_execs_leave_no_fds_or_children_behind() {
    let (_dir, os, ctx) = vm();
    let exec = |command: &str| os.dispatch("exec", vec![Value::Text(command.into())], &ctx);
    // Warm up: the runtime's own descriptors and threads exist from here on.
    for _ in 0..5 {
        exec("true").await.unwrap();
    }
    let (fds, kids) = (open_fds(), children());
    for i in 0..1_000 {
        let out = exec(if i % 100 == 0 {
            "echo x; echo y >&2"
        } else {
            "true"
        })
        .await
        .unwrap();
        assert!(matches!(out, Value::Map(_)), "exec {i} returns its result");
    }
    assert_eq!(open_fds(), fds, "open file descriptors");
    assert_eq!(children(), kids, "child processes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_shells_leave_no_fds_or_children_behind() {
    let (_dir, os, ctx) = vm();
    let cycle = |typed: Option<&'static str>| {
        let (os, ctx) = (&os, &ctx);
        async move {
            let info = os.dispatch("openShell", vec![], ctx).await.unwrap();
            let info: serde_json::Value = agentos_core::runtime::from_value(&info).unwrap();
            let id = Value::Text(info["shellId"].as_str().unwrap().to_owned());
            if let Some(typed) = typed {
                let input = vec![id.clone(), Value::Text(typed.into())];
                os.dispatch("writeShell", input, ctx).await.unwrap();
            }
            os.dispatch("closeShell", vec![id.clone()], ctx)
                .await
                .unwrap();
            let end = os.dispatch("waitShell", vec![id], ctx).await.unwrap();
            agentos_core::runtime::from_value::<serde_json::Value>(&end).unwrap()
        }
    };
    for _ in 0..5 {
        cycle(None).await;
    }
    let (fds, kids) = (open_fds(), children());
    for i in 0..1_000 {
        let end = cycle((i % 100 == 0).then_some("echo x; sleep 30 &\r")).await;
        assert!(end["shellId"].is_string(), "shell {i} reports its end");
    }
    assert_eq!(open_fds(), fds, "open file descriptors");
    assert_eq!(children(), kids, "child processes");
}
