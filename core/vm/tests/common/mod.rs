//! What the VM's integration tests share.

use agentos_core::AgentOs;
use agentos_core::runtime::Emitter;

/// The script's stdout; panics with its stderr unless it exits 0.
pub async fn run(os: &AgentOs, script: &str) -> String {
    let result = os
        .exec(script.into(), None, Emitter::discard(), Emitter::discard())
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    assert_eq!(result.exit_code, Some(0), "{script}: {}", result.stderr);
    result.stdout
}
