//! An agent that cannot start says why: one that exits at once answers `agent_exited` with
//! its last stderr lines, and a session whose cwd is not a directory of the VM is refused
//! before any agent starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use agentos_core::runtime::{ActorEvents, Discard};
use agentos_core::vm::fs::FileContent;
use agentos_core::vm::session::{AgentConfig, SessionOptions};
use agentos_core::{AgentOs, VmConfig};

fn vm(dir: &std::path::Path) -> AgentOs {
    let noisy = AgentConfig {
        command: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            "echo starting >&2; echo 'cannot find my config' >&2; exit 3".into(),
        ],
        ..AgentConfig::default()
    };
    let config = VmConfig {
        agents: BTreeMap::from([("noisy".to_owned(), noisy)]),
        ..VmConfig::default()
    };
    AgentOs::open(dir, config, ActorEvents::new(Arc::new(Discard))).unwrap()
}

fn options(cwd: &str) -> Option<SessionOptions> {
    Some(SessionOptions {
        cwd: Some(cwd.into()),
        skip_os_instructions: Some(true),
        ..SessionOptions::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_exits_at_start_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let os = vm(dir.path());
    let err = os
        .create_session("noisy".into(), options("/"))
        .await
        .unwrap_err();
    assert_eq!(err.code, "agent_exited", "{err:?}");
    assert!(
        err.message.ends_with(": cannot find my config"),
        "{}",
        err.message
    );
    let metadata = err.metadata.unwrap();
    assert_eq!(metadata["exitCode"], 3, "{metadata}");
    assert_eq!(
        metadata["stderr"],
        serde_json::json!(["starting", "cannot find my config"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cwd_must_be_a_directory_of_the_vm() {
    let dir = tempfile::tempdir().unwrap();
    let os = vm(dir.path());
    let err = os
        .create_session("noisy".into(), options("/nowhere"))
        .await
        .unwrap_err();
    assert_eq!(err.code, "not_found", "{err:?}");
    os.write_file("/file".into(), FileContent::Text("x".into()))
        .unwrap();
    let err = os
        .create_session("noisy".into(), options("/file"))
        .await
        .unwrap_err();
    assert_eq!(err.code, "not_a_directory", "{err:?}");
    assert!(err.message.contains("/file"), "{}", err.message);
}
