//! `agentos-test-agent [--no-load-session]`: the built-in agent as a program of its own, for
//! the session tests.

#[tokio::main(flavor = "current_thread")]
async fn main() -> agent_client_protocol::Result<()> {
    let load_sessions = !std::env::args().any(|arg| arg == "--no-load-session");
    agentos_builtin_agent::serve(load_sessions).await
}
