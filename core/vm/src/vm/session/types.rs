//! What crosses the wire about agents and sessions. ACP's own structures (content blocks,
//! session updates, MCP servers, modes, config options) travel as JSON in ACP's shapes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use ts_rs::TS;

use crate::runtime::SafeU64;

/// An agent the VM can start: a program that speaks ACP on stdio. Set by the host, never
/// over the wire.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgentConfig {
    /// The program. An absolute host path is bound read-only in the sandbox (under
    /// `/tmp/.agentos-host`, the argv entry rewritten), so an agent binary need not live in the VM.
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub description: Option<String>,
    /// More host paths the agent needs (its scripts, its data), bound read-only under
    /// `/tmp/.agentos-host` (their host paths appended), where argv entries naming them point.
    #[serde(default)]
    pub binds: Vec<String>,
    /// How to install the program, for `listAgents` to show when it is missing.
    #[serde(default)]
    pub install: Option<String>,
    /// Host environment variables the agent needs (an API key, say), passed to it when the
    /// host has them.
    #[serde(default)]
    pub pass_env: Vec<String>,
}

/// One entry of `listAgents`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct AgentInfo {
    pub id: String,
    /// Whether the agent's program can start where agents run: inside the sandbox (which
    /// sees the host's system directories and the agent's binds), or on the host without one.
    pub installed: bool,
    /// Why it cannot, when it cannot.
    pub reason: Option<String>,
    /// The program and its arguments.
    pub entrypoint: Vec<String>,
    pub description: Option<String>,
    /// How to install it.
    pub install: Option<String>,
    /// Host environment variables it needs, passed to it when the host has them.
    pub pass_env: Option<Vec<String>>,
}

/// Options of `createSession`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct SessionOptions {
    /// The agent's working directory, a VM path (default `/`); also the session's `cwd`.
    pub cwd: Option<String>,
    /// Environment variables for the agent process, over the agent's configured ones.
    pub env: Option<BTreeMap<String, String>>,
    /// MCP servers in ACP's shape (`{ name, command, args, env }` for stdio,
    /// `{ type: "http", name, url, headers }` for HTTP), passed to the agent's `session/new`.
    pub mcp_servers: Option<Vec<Json>>,
    /// Text added to the VM's instructions, sent before the first prompt.
    pub additional_instructions: Option<String>,
    /// Leaves out the VM's own instructions.
    pub skip_os_instructions: Option<bool>,
}

/// A live session.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub session_id: String,
    pub agent_type: String,
    pub cwd: String,
    /// The host pid of the agent process (the sandbox's, when sandboxed).
    pub pid: u32,
}

/// A prompt: text, or ACP content blocks.
#[derive(Serialize, Deserialize, TS, Debug, Clone)]
#[serde(untagged)]
pub enum PromptInput {
    Text(String),
    Blocks(Vec<Json>),
}

/// How a prompt turn ended.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PromptResult {
    /// ACP's stop reason: `end_turn`, `cancelled`, `max_tokens`, `refusal`, …
    pub stop_reason: String,
    /// The text of the agent's message chunks during this turn.
    pub text: String,
}

/// One ACP session update, as the `sessionEvent` event and in `getSessionEvents`.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionEvent {
    pub session_id: String,
    /// Position in the session's history, from 1.
    pub seq: u32,
    /// The `update` of ACP's `session/update`.
    pub update: Json,
}

/// The agent asks before acting; answer with `respondPermission`.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    pub session_id: String,
    pub permission_id: String,
    /// ACP's `session/request_permission` params: `toolCall` and `options`.
    pub request: Json,
}

/// How `resumeSession` brought a session back.
#[derive(Serialize, Deserialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ResumeMode {
    /// The agent loaded the session (ACP `session/load`): it has the conversation so far.
    Native,
    /// The agent cannot load sessions: it started a new conversation under the same session,
    /// whose events on record go on.
    Fallback,
}

/// What `resumeSession` did.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResumedSession {
    pub session_id: String,
    pub mode: ResumeMode,
}

/// A session, live or on record: `getSession`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct SessionRecord {
    pub session_id: String,
    pub agent_type: String,
    pub cwd: String,
    /// Whether its agent still runs.
    pub live: bool,
    /// The agent's capabilities (`initialize`'s `agentCapabilities`), while it runs.
    pub capabilities: Option<Json>,
    /// The agent's name and version (`initialize`'s `agentInfo`), while it runs and if it
    /// gave them.
    pub agent_info: Option<Json>,
}

/// How a permission request ended.
#[derive(Serialize, Deserialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PermissionOutcome {
    /// A client chose one of the agent's options (`respondPermission`).
    Selected,
    /// The turn was cancelled, or the session ended, before anyone answered.
    Cancelled,
}

/// A permission request that is no longer pending: `permissionResolved`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct PermissionResolved {
    pub session_id: String,
    pub permission_id: String,
    pub outcome: PermissionOutcome,
    /// The option chosen, when one was.
    pub option_id: Option<String>,
}

/// How a session's agent ended, kept for `getRuntimeHealth`.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AgentExitRecord {
    pub session_id: String,
    pub agent_type: String,
    pub exit: AgentExit,
    /// Its last stderr lines, oldest first.
    pub stderr_tail: Vec<String>,
    /// When it ended, in milliseconds since the Unix epoch.
    pub at_ms: SafeU64,
}

/// An answer to a permission request: a kind, which picks the agent's first option of it, or
/// one of the options the request offered, by its `optionId` (to choose between options of
/// the same kind).
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq, Eq)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum PermissionReply {
    Kind(PermissionKind),
    Option { option_id: String },
}

/// What a permission reply allows: once, always, or nothing (reject once before reject
/// always, when the agent offers both).
#[derive(Serialize, Deserialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PermissionKind {
    Once,
    Always,
    Reject,
}

/// A line the agent wrote to stderr.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AgentStderr {
    pub session_id: String,
    pub line: String,
}

/// How an agent process ended.
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AgentExit {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

impl AgentExit {
    pub fn from_status(status: Option<std::process::ExitStatus>) -> Self {
        use std::os::unix::process::ExitStatusExt;
        Self {
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
        }
    }
}

impl fmt::Display for AgentExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.exit_code, self.signal) {
            (Some(code), _) => write!(f, "status {code}"),
            (None, Some(signal)) => write!(f, "signal {signal}"),
            (None, None) => f.write_str("status unknown"),
        }
    }
}

/// The `agentExit` event: a session's agent process ended.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AgentExitEvent {
    pub session_id: String,
    #[serde(flatten)]
    #[ts(flatten)]
    pub exit: AgentExit,
}

/// Options of `getSessionEvents`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Copy, Default)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct SessionEventsOptions {
    /// Only events with a larger `seq` (default 0: from the start).
    pub after: Option<u32>,
    /// At most this many events (default and cap 1000).
    pub limit: Option<u32>,
}

/// Why a session on record ended.
#[derive(Serialize, Deserialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SessionEndReason {
    /// `closeSession` ended it.
    Closed,
    /// Its agent exited on its own.
    AgentExited,
    /// The host (or the VM) stopped while it was live, and its agent with it; found so when
    /// the VM next opened.
    HostStopped,
}

impl SessionEndReason {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::AgentExited => "agentExited",
            Self::HostStopped => "hostStopped",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        [Self::Closed, Self::AgentExited, Self::HostStopped]
            .into_iter()
            .find(|reason| reason.as_str() == s)
    }
}

/// A session on record, live or ended, as `listPersistedSessions` reports it.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PersistedSession {
    pub session_id: String,
    pub agent_type: String,
    pub cwd: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: SafeU64,
    /// When its agent ended, if it has.
    pub ended_at: Option<SafeU64>,
    /// Why it ended, once it has.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<SessionEndReason>,
    /// How many events are kept.
    pub events: u32,
}
