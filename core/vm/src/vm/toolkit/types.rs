//! What crosses the wire about toolkits: their registration, and a tool call as a connected
//! client sees it through the `toolCall` bridge.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use ts_rs::TS;

/// A named set of tools the VM's agents can call (`registerToolkit`, `listToolkits`).
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolkitSpec {
    /// `[a-zA-Z0-9-]` and single `_` (not last): agents see each tool as `<toolkit>__<tool>`.
    pub name: String,
    pub description: String,
    /// Tools by name (`[a-zA-Z0-9_-]`).
    pub tools: BTreeMap<String, ToolSpec>,
}

/// One tool of a toolkit.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ToolSpec {
    pub description: String,
    /// A JSON Schema for the tool's input; every call is validated against it before the
    /// tool runs.
    pub input_schema: Json,
    /// How long a call may run before the agent gets a `timeout` error (default 30 000).
    pub timeout_ms: Option<u32>,
    /// Example inputs, shown to agents with the description.
    pub examples: Option<Vec<Json>>,
}

/// A tool call an agent made, with input already valid against the tool's schema.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallRequest {
    pub toolkit: String,
    pub tool: String,
    pub input: Json,
}

/// What a tool returns to the agent.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ToolCallResult {
    /// The text the agent reads.
    pub text: String,
    /// Structured data for agents that read it (MCP `structuredContent`).
    pub data: Option<Json>,
}
