//! Host toolkits: named sets of tools with JSON Schemas that the VM's agents call over MCP.
//! Input is validated against the tool's schema before anything runs; a tool then runs
//! through the Rust [`ToolHandler`] of its toolkit if the host set one, otherwise through
//! [`ClientTools`] (the actor's `toolCall` bridge to a connected client), bounded by the
//! tool's timeout either way.

mod mcp;
mod server;
mod store;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde_json::Value as Json;

use crate::runtime::ActorError;
use crate::vm::store::Store;

use mcp::McpEndpoint;
pub use mcp::pump;
pub(crate) use server::ToolkitServer;
use store::ToolkitStore;
pub use types::{ToolCallRequest, ToolCallResult, ToolSpec, ToolkitSpec};

/// How long a tool may run when its spec sets no `timeoutMs`.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Separates toolkit and tool in the names agents see: `<toolkit>__<tool>`.
const SEPARATOR: &str = "__";

/// The longest tool name MCP clients accept (`^[a-zA-Z0-9_-]{1,64}$`).
const MAX_MCP_NAME: usize = 64;

/// Runs the tools of one toolkit in Rust, set by the code that hosts the VM.
#[async_trait::async_trait]
pub trait ToolHandler: Send + Sync {
    /// Runs `tool` with input already valid against its schema. An `Err` reaches the agent
    /// as a tool error.
    async fn call(&self, tool: &str, input: Json) -> Result<ToolCallResult, String>;
}

/// Runs a tool on a connected client: the actor's `toolCall` bridge.
#[async_trait::async_trait]
pub trait ClientTools: Send + Sync {
    async fn tool_call(
        &self,
        request: &ToolCallRequest,
        timeout: Duration,
    ) -> Result<ToolCallResult, ActorError>;
}

/// A registered toolkit: its spec and each tool's compiled schema.
struct Toolkit {
    spec: ToolkitSpec,
    validators: BTreeMap<String, jsonschema::Validator>,
}

/// The VM's toolkits and the handlers that run them.
pub struct Toolkits {
    kits: RwLock<BTreeMap<String, Arc<Toolkit>>>,
    handlers: RwLock<HashMap<String, Arc<dyn ToolHandler>>>,
    clients: Arc<dyn ClientTools>,
    /// Where toolkits added through the surface are kept.
    saved: Option<ToolkitStore>,
}

impl Toolkits {
    /// Toolkits whose tools run on `clients` unless a handler is set, with `specs` (the
    /// host's configuration) and then those saved under `vm` in `store`.
    pub fn open(
        clients: Arc<dyn ClientTools>,
        specs: Vec<ToolkitSpec>,
        store: Store,
        vm: String,
    ) -> Result<Self, ActorError> {
        let saved = ToolkitStore::new(store, vm);
        let restored = saved.all()?;
        let toolkits = Self {
            saved: Some(saved),
            ..Self::new(clients)
        };
        for spec in specs.into_iter().chain(restored) {
            toolkits.register(spec)?;
        }
        Ok(toolkits)
    }

    /// Toolkits kept in memory only.
    pub fn new(clients: Arc<dyn ClientTools>) -> Self {
        Self {
            kits: RwLock::default(),
            handlers: RwLock::default(),
            clients,
            saved: None,
        }
    }

    /// As [`register`](Self::register), and kept on record.
    pub fn add(&self, spec: ToolkitSpec) -> Result<(), ActorError> {
        let saved = spec.clone();
        self.register(spec)?;
        match &self.saved {
            Some(store) => store.save(&saved),
            None => Ok(()),
        }
    }

    /// Adds a toolkit, or replaces the one of the same name. Names and schemas are checked
    /// first: a bad one is `invalid_input` and changes nothing.
    pub fn register(&self, spec: ToolkitSpec) -> Result<(), ActorError> {
        check_toolkit_name(&spec.name)?;
        let validators = spec
            .tools
            .iter()
            .map(|(tool, tool_spec)| {
                check_tool_name(&spec.name, tool)?;
                // MCP clients (the official SDKs among them) reject a whole `tools/list`
                // holding one tool whose input schema is not literally an object schema.
                if tool_spec.input_schema.get("type") != Some(&Json::from("object")) {
                    return Err(ActorError::invalid_input(format!(
                        "tool `{}{SEPARATOR}{tool}`: inputSchema must be an object schema, `{{ \"type\": \"object\", … }}` (MCP requires one)",
                        spec.name
                    )));
                }
                let validator = jsonschema::validator_for(&tool_spec.input_schema).map_err(|e| {
                    ActorError::invalid_input(format!(
                        "tool `{}{SEPARATOR}{tool}`: inputSchema is not a valid JSON Schema: {e}",
                        spec.name
                    ))
                })?;
                Ok((tool.clone(), validator))
            })
            .collect::<Result<_, ActorError>>()?;
        let kit = Arc::new(Toolkit { spec, validators });
        write(&self.kits).insert(kit.spec.name.clone(), kit);
        Ok(())
    }

    /// The toolkits, by name.
    pub fn list(&self) -> Vec<ToolkitSpec> {
        read(&self.kits).values().map(|k| k.spec.clone()).collect()
    }

    pub fn unregister(&self, name: &str) -> Result<(), ActorError> {
        write(&self.kits)
            .remove(name)
            .ok_or_else(|| ActorError::not_found(format!("no toolkit named `{name}`")))?;
        match &self.saved {
            Some(store) => store.delete(name),
            None => Ok(()),
        }
    }

    pub fn is_empty(&self) -> bool {
        read(&self.kits).is_empty()
    }

    /// Runs the tools of `toolkit` through `handler` from now on, instead of a client.
    pub fn set_handler(&self, toolkit: String, handler: Arc<dyn ToolHandler>) {
        write(&self.handlers).insert(toolkit, handler);
    }

    /// Every tool as agents see it: `(name, description, input schema)`.
    fn tools(&self) -> Vec<(String, String, serde_json::Map<String, Json>)> {
        read(&self.kits)
            .values()
            .flat_map(|kit| {
                kit.spec.tools.iter().map(|(tool, spec)| {
                    (
                        format!("{}{SEPARATOR}{tool}", kit.spec.name),
                        describe(spec),
                        // Registration made sure it is an object.
                        spec.input_schema.as_object().cloned().unwrap_or_default(),
                    )
                })
            })
            .collect()
    }

    /// Runs the tool an agent named `<toolkit>__<tool>` with `input`. The `Err` text is
    /// what the agent reads as the tool's error.
    async fn call(&self, name: &str, input: Json) -> Result<ToolCallResult, String> {
        let (kit, tool) = name
            .split_once(SEPARATOR)
            .and_then(|(kit, tool)| Some((read(&self.kits).get(kit)?.clone(), tool)))
            .filter(|(kit, tool)| kit.spec.tools.contains_key(*tool))
            .ok_or_else(|| format!("not_found: no tool named `{name}`"))?;
        let errors: Vec<String> = kit.validators[tool]
            .iter_errors(&input)
            .map(|e| match e.instance_path().as_str() {
                "" => e.to_string(),
                path => format!("{path}: {e}"),
            })
            .collect();
        if !errors.is_empty() {
            return Err(format!(
                "invalid_input: the input does not match the schema of `{name}`: {}",
                errors.join("; ")
            ));
        }
        let timeout = kit.spec.tools[tool]
            .timeout_ms
            .map_or(DEFAULT_TOOL_TIMEOUT, |ms| Duration::from_millis(ms.into()));
        let handler = read(&self.handlers).get(&kit.spec.name).cloned();
        match handler {
            Some(handler) => tokio::time::timeout(timeout, handler.call(tool, input))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "timeout: tool `{name}` did not finish within {timeout:?}"
                    ))
                }),
            None => {
                let request = ToolCallRequest {
                    toolkit: kit.spec.name.clone(),
                    tool: tool.to_owned(),
                    input,
                };
                self.clients
                    .tool_call(&request, timeout)
                    .await
                    .map_err(|e| format!("{}: {}", e.code, e.message))
            }
        }
    }
}

/// A tool's description as agents read it: with its examples, if any.
fn describe(spec: &ToolSpec) -> String {
    match &spec.examples {
        Some(examples) if !examples.is_empty() => {
            let lines: Vec<String> = examples.iter().map(|e| format!("- {e}")).collect();
            format!(
                "{}\n\nExample inputs:\n{}",
                spec.description,
                lines.join("\n")
            )
        }
        _ => spec.description.clone(),
    }
}

fn is_mcp_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_toolkit_name(name: &str) -> Result<(), ActorError> {
    // `<toolkit>__<tool>` splits at its first `__`: the toolkit's name must not hold one or
    // end in `_`.
    if !is_mcp_name(name) || name.contains(SEPARATOR) || name.ends_with('_') {
        return Err(ActorError::invalid_input(format!(
            "toolkit name `{name}` must be ASCII letters, digits, `-` and single `_`, not last (agents see `<toolkit>{SEPARATOR}<tool>`)"
        )));
    }
    Ok(())
}

fn check_tool_name(toolkit: &str, tool: &str) -> Result<(), ActorError> {
    let full = format!("{toolkit}{SEPARATOR}{tool}");
    if !is_mcp_name(tool) || full.len() > MAX_MCP_NAME {
        return Err(ActorError::invalid_input(format!(
            "tool `{full}`: names must be ASCII letters, digits, `_` and `-`, at most {MAX_MCP_NAME} characters with the toolkit's"
        )));
    }
    Ok(())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct NoClient;

    #[async_trait::async_trait]
    impl ClientTools for NoClient {
        async fn tool_call(
            &self,
            _: &ToolCallRequest,
            timeout: Duration,
        ) -> Result<ToolCallResult, ActorError> {
            Err(ActorError::timeout(format!("nobody within {timeout:?}")))
        }
    }

    fn kit(name: &str, tool: &str, schema: Json) -> ToolkitSpec {
        ToolkitSpec {
            name: name.into(),
            description: "d".into(),
            tools: [(
                tool.to_owned(),
                ToolSpec {
                    description: "t".into(),
                    input_schema: schema,
                    timeout_ms: Some(20),
                    examples: None,
                },
            )]
            .into(),
        }
    }

    #[test]
    fn names_and_schemas_are_checked_at_registration() {
        let kits = Toolkits::new(Arc::new(NoClient));
        let object = || json!({ "type": "object" });
        for bad in [
            kit("a__b", "t", object()),
            kit("a_", "t", object()),
            kit("a b", "t", object()),
            kit("a", &"t".repeat(62), object()),
            kit(
                "a",
                "t",
                json!({ "type": "object", "properties": { "x": { "type": "nope" } } }),
            ),
            kit("a", "t", json!(true)),
            // Valid JSON Schemas, but not object schemas: MCP clients refuse them.
            kit("a", "t", json!({ "type": "string" })),
            kit("a", "t", json!({})),
        ] {
            let err = kits.register(bad.clone()).unwrap_err();
            assert_eq!(err.code, "invalid_input", "{bad:?}");
        }
        let err = kits.register(kit("a", "t", json!({}))).unwrap_err();
        assert!(err.message.contains("object schema"), "{}", err.message);
        assert!(kits.is_empty());
        kits.register(kit("a", &"t".repeat(61), object())).unwrap();
        assert_eq!(kits.tools()[0].0.len(), MAX_MCP_NAME);
        kits.register(kit("b-c_d", "_e", object())).unwrap();
        assert_eq!(kits.tools()[1].0, "b-c_d___e");
    }

    #[tokio::test]
    async fn a_client_tool_that_nobody_answers_is_a_timeout_error() {
        let kits = Toolkits::new(Arc::new(NoClient));
        kits.register(kit("k", "t", json!({ "type": "object" })))
            .unwrap();
        let err = kits.call("k__t", json!({})).await.unwrap_err();
        assert!(err.starts_with("timeout: nobody within 20ms"), "{err}");
        let err = kits.call("k__t", json!(3)).await.unwrap_err();
        assert!(err.starts_with("invalid_input:"), "{err}");
        let err = kits.call("k__nope", json!({})).await.unwrap_err();
        assert!(err.starts_with("not_found:"), "{err}");
        // A tool name may start with `_`: the name splits at its first `__`.
        kits.register(kit("k_x", "_t", json!({ "type": "object" })))
            .unwrap();
        let err = kits.call("k_x___t", json!({})).await.unwrap_err();
        assert!(err.starts_with("timeout:"), "{err}");
    }
}
