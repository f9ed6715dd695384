//! The one error type that crosses the wire. Every failure a client can see is an
//! `ActorError` with a stable `group`/`code` pair, so callers branch on codes, not messages.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Errors raised by the core and its codec.
pub const GROUP_AGENTOS: &str = "agentos";

/// Stable error codes every surface may raise. Clients match on these strings; a surface adds
/// its own (the VM's are in `agentos_core::error::code`).
pub mod code {
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const NOT_FOUND: &str = "not_found";
    pub const ALREADY_EXISTS: &str = "already_exists";
    pub const LIMIT_EXCEEDED: &str = "limit_exceeded";
    pub const TIMEOUT: &str = "timeout";
    pub const UNKNOWN_ACTION: &str = "unknown_action";
    pub const UNSUPPORTED: &str = "unsupported";
    pub const BRIDGE_FAILED: &str = "bridge_failed";
    /// The target no longer takes input, e.g. a process's closed standard input.
    pub const CLOSED: &str = "closed";
    /// The client cancelled the call (an aborted `AbortSignal`); what it started was stopped.
    pub const CANCELLED: &str = "cancelled";
    pub const INTERNAL: &str = "internal";
}

/// A typed, serializable error: what a TypeScript `ActorError` is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, thiserror::Error)]
#[ts(rename = "ActorErrorInfo")]
#[error("{group}/{code}: {message}")]
pub struct ActorError {
    pub group: String,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Boxed: `serde_json::Value` with `preserve_order` (which the ACP crate turns on) would
    /// make every `Result<_, ActorError>` large.
    #[ts(optional, type = "unknown")]
    pub metadata: Option<Box<serde_json::Value>>,
}

impl ActorError {
    pub fn new(group: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            group: group.to_owned(),
            code: code.to_owned(),
            message: message.into(),
            metadata: None,
        }
    }

    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(Box::new(metadata));
        self
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::INVALID_INPUT, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::NOT_FOUND, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::ALREADY_EXISTS, message)
    }
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::LIMIT_EXCEEDED, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::TIMEOUT, message)
    }
    pub fn unknown_action(name: &str) -> Self {
        Self::new(
            GROUP_AGENTOS,
            code::UNKNOWN_ACTION,
            format!("unknown action `{name}`"),
        )
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::UNSUPPORTED, message)
    }
    pub fn cancelled() -> Self {
        Self::new(
            GROUP_AGENTOS,
            code::CANCELLED,
            "the client cancelled the call",
        )
    }
    pub fn closed(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::CLOSED, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::INTERNAL, message)
    }
}

impl From<std::convert::Infallible> for ActorError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
