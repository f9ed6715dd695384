//! 1,000 sandboxed execs leave the host process with the open file descriptors and child
//! processes it started with.

use std::sync::Arc;
use std::time::Duration;

use agentos_core::runtime::{BridgeHub, CallContext, EventSink, Limits, Surface, Value};
use agentos_core::{AgentOs, VmConfig};

struct NoEvents;
impl EventSink for NoEvents {
    fn emit(&self, _: &str, _: Value) {}
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_execs_leave_no_fds_or_children_behind() {
    let dir = tempfile::tempdir().unwrap();
    let os = AgentOs::open(dir.path(), VmConfig::default()).unwrap();
    let ctx = CallContext::new(
        "leaks:1".into(),
        Arc::new(NoEvents),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    );
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
