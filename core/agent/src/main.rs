//! `agentos-test-agent`: the built-in agent as a program of its own, for the session tests.

#[tokio::main(flavor = "current_thread")]
async fn main() -> agent_client_protocol::Result<()> {
    agentos_builtin_agent::serve().await
}
