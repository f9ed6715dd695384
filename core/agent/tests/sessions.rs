//! Sessions driven from Rust, without a host: the agent-stderr hook that hosting code sets,
//! and a prompt in flight when its agent crashes. The test agent is this package's binary.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use agentos_core::error::code;
use agentos_core::runtime::{ActorEvents, Discard};
use agentos_core::vm::session::{AgentConfig, AgentStderr, PromptInput, SessionOptions};
use agentos_core::{AgentOs, VmConfig};

fn vm() -> (tempfile::TempDir, AgentOs) {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentConfig {
        command: env!("CARGO_BIN_EXE_agentos-test-agent").to_owned(),
        ..AgentConfig::default()
    };
    let config = VmConfig {
        agents: BTreeMap::from([("test".to_owned(), agent)]),
        ..VmConfig::default()
    };
    let os = AgentOs::open(dir.path(), config, ActorEvents::new(Arc::new(Discard))).unwrap();
    (dir, os)
}

fn quiet() -> Option<SessionOptions> {
    Some(SessionOptions {
        skip_os_instructions: Some(true),
        ..SessionOptions::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stderr_hook_sees_every_line() {
    let (_dir, os) = vm();
    let lines = Arc::new(Mutex::new(Vec::<AgentStderr>::new()));
    let seen = lines.clone();
    os.set_agent_stderr_hook(Arc::new(move |line| {
        seen.lock().unwrap().push(line.clone())
    }));
    let session = os.create_session("test".into(), quiet()).await.unwrap();
    let result = os
        .prompt(
            session.session_id.clone(),
            PromptInput::Text("stderr hook".into()),
        )
        .await
        .unwrap();
    assert_eq!(result.text, "echo: stderr hook");
    // The line and the prompt's answer travel on different pipes.
    for _ in 0..500 {
        if !lines.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        *lines.lock().unwrap(),
        [AgentStderr {
            session_id: session.session_id.clone(),
            line: "test-agent stderr: stderr hook".into()
        }]
    );
    os.close_session(session.session_id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_fails_the_prompt_with_agent_exited() {
    let (_dir, os) = vm();
    let session = os.create_session("test".into(), quiet()).await.unwrap();
    let err = os
        .prompt(
            session.session_id.clone(),
            PromptInput::Text("crash".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, code::AGENT_EXITED);
    assert_eq!(
        err.metadata.as_deref(),
        Some(&serde_json::json!({ "exitCode": 3, "signal": null, "stderr": [] }))
    );
}
