//! Host toolkits from Rust, without a host: the Rust test agent (in the VM's bubblewrap
//! sandbox) launches `agentos toolkit-mcp`, calls a tool over MCP, and the tool runs through
//! the Rust handler that hosting code set; input that fails the schema never reaches it. The
//! agent lists the tools with their descriptions and schemas first.
//! The agent is the workspace's `agentos-test-agent`, built next to this package's binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use agentos_core::runtime::{ActorEvents, Discard};
use agentos_core::vm::session::{AgentConfig, PromptInput, SessionOptions};
use agentos_core::vm::toolkit::{ToolCallResult, ToolHandler, ToolSpec, ToolkitSpec};
use agentos_core::{AgentOs, VmConfig};
use serde_json::{Value as Json, json};

fn test_agent() -> String {
    let agent = PathBuf::from(env!("CARGO_BIN_EXE_agentos")).with_file_name("agentos-test-agent");
    assert!(
        agent.exists(),
        "{} is missing: build it with `cargo build -p agentos-builtin-agent`",
        agent.display()
    );
    agent.to_string_lossy().into_owned()
}

fn math() -> ToolkitSpec {
    ToolkitSpec {
        name: "math".into(),
        description: "Arithmetic".into(),
        tools: BTreeMap::from([(
            "add".to_owned(),
            ToolSpec {
                description: "Adds two integers".into(),
                input_schema: json!({
                    "type": "object",
                    "properties": { "a": { "type": "integer" }, "b": { "type": "integer" } },
                    "required": ["a", "b"],
                }),
                timeout_ms: None,
                examples: Some(vec![json!({ "a": 1, "b": 2 })]),
            },
        )]),
    }
}

/// Adds, and remembers every call it ran.
#[derive(Default)]
struct Adder(Mutex<Vec<(String, Json)>>);

#[async_trait::async_trait]
impl ToolHandler for Adder {
    async fn call(&self, tool: &str, input: Json) -> Result<ToolCallResult, String> {
        self.0
            .lock()
            .unwrap()
            .push((tool.to_owned(), input.clone()));
        let sum = input["a"].as_i64().unwrap() + input["b"].as_i64().unwrap();
        Ok(ToolCallResult {
            text: format!("sum={sum}"),
            data: None,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_calls_a_tool_that_runs_through_the_rust_handler() {
    let dir = tempfile::tempdir().unwrap();
    let config = VmConfig {
        agents: BTreeMap::from([(
            "test".to_owned(),
            AgentConfig {
                command: test_agent(),
                ..AgentConfig::default()
            },
        )]),
        toolkits: vec![math()],
        toolkit_proxy: Some(env!("CARGO_BIN_EXE_agentos").into()),
        ..VmConfig::default()
    };
    let os = AgentOs::open(dir.path(), config, ActorEvents::new(Arc::new(Discard))).unwrap();
    let adder = Arc::new(Adder::default());
    os.set_tool_handler("math".into(), adder.clone());
    let quiet = SessionOptions {
        skip_os_instructions: Some(true),
        ..SessionOptions::default()
    };
    let session = os.create_session("test".into(), Some(quiet)).await.unwrap();
    let prompt = |text: &str| os.prompt(session.session_id.clone(), PromptInput::Text(text.into()));

    let listed = prompt("tools").await.unwrap();
    let listed: Json = serde_json::from_str(listed.text.split_once("tools: ").unwrap().1).unwrap();
    let spec = &math().tools["add"];
    assert_eq!(
        listed,
        json!([{
            "name": "math__add",
            "description": "Adds two integers\n\nExample inputs:\n- {\"a\":1,\"b\":2}",
            "inputSchema": spec.input_schema,
        }])
    );

    let reply = prompt(r#"tool math__add {"a": 2, "b": 40}"#).await.unwrap();
    assert!(
        reply.text.ends_with("tool result: sum=42"),
        "{}",
        reply.text
    );
    assert_eq!(
        *adder.0.lock().unwrap(),
        [("add".to_owned(), json!({ "a": 2, "b": 40 }))]
    );

    let reply = prompt(r#"tool math__add {"a": "two", "b": 40}"#)
        .await
        .unwrap();
    assert!(
        reply.text.contains(
            "tool error: invalid_input: the input does not match the schema of `math__add`: /a:"
        ),
        "{}",
        reply.text
    );
    let reply = prompt(r#"tool math__sub {"a": 1, "b": 1}"#).await.unwrap();
    assert!(
        reply
            .text
            .contains("tool error: not_found: no tool named `math__sub`"),
        "{}",
        reply.text
    );
    // Neither the invalid input nor the unknown tool ran anything.
    assert_eq!(adder.0.lock().unwrap().len(), 1);
    os.close_session(session.session_id).await.unwrap();
}
