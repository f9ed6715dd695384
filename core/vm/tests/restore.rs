//! A restored root is what the VM's processes see next: piped processes enter namespaces built
//! once per view, and those bind the old root's directory, which a restore replaces by another
//! at the same path.

use std::sync::Arc;
use std::time::Duration;

use agentos_core::runtime::{
    ActorEvents, BridgeHub, Bytes, CallContext, Discard, Limits, Surface, Value,
};
use agentos_core::vm::fs::{FileContent, Filesystem, SnapshotOptions, SnapshotSource};
use agentos_core::{AgentOs, VmConfig};

fn context() -> CallContext {
    CallContext::new(
        "restore:1".into(),
        Arc::new(Discard),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    )
}

async fn stdout(os: &AgentOs, script: &str) -> String {
    let result = os
        .dispatch("exec", vec![Value::Text(script.into())], &context())
        .await
        .unwrap_or_else(|e| panic!("{script}: {e:?}"));
    let Value::Map(fields) = result else {
        panic!("not a map: {result:?}")
    };
    let stdout = fields
        .iter()
        .find(|(key, _)| key.as_text() == Some("stdout"))
        .and_then(|(_, value)| value.as_text())
        .unwrap_or_else(|| panic!("no stdout in {fields:?}"));
    stdout.to_owned()
}

/// An archive of a root holding `/f` = `after` and `/new`.
fn archive() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let fs = Filesystem::open(&dir.path().join("vm")).unwrap();
    fs.write_file("/f", FileContent::Text("after".into()))
        .unwrap();
    fs.write_file("/new", FileContent::Text("n".into()))
        .unwrap();
    let mut archive = Vec::new();
    fs.snapshot_into(SnapshotOptions::default(), &mut archive)
        .unwrap();
    archive
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_started_after_a_restore_see_the_restored_root() {
    let dir = tempfile::tempdir().unwrap();
    let os = AgentOs::open(
        dir.path(),
        VmConfig::default(),
        ActorEvents::new(Arc::new(Discard)),
    )
    .unwrap();
    let info = os.sandbox_info();
    if !info.available {
        eprintln!("skipped: bubblewrap is not installed");
        return;
    }
    os.write_file("/f".into(), FileContent::Text("before".into()))
        .unwrap();
    os.write_file("/stale".into(), FileContent::Text("s".into()))
        .unwrap();
    let look = "cat /f; echo; for f in /new /stale; do test -e $f && echo $f; done";
    // Twice: the second runs in the namespaces the first built.
    for _ in 0..2 {
        assert_eq!(stdout(&os, look).await, "before\n/stale\n");
    }
    os.restore_root_filesystem(SnapshotSource::Bytes(Bytes(archive())))
        .await
        .unwrap();
    assert_eq!(stdout(&os, look).await, "after\n/new\n");
    // And what a process writes now is in the restored root.
    stdout(&os, "echo from-process > /written").await;
    assert_eq!(
        os.read_text_file("/written".into()).unwrap(),
        "from-process\n"
    );
}
