//! The one error type that crosses the wire. Every failure a client can see is an
//! `ActorError` with a stable `group`/`code` pair, so callers branch on codes, not messages.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Errors raised by the core and its codec.
pub const GROUP_AGENTOS: &str = "agentos";

/// Stable error codes. Clients match on these strings.
pub mod code {
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const NOT_FOUND: &str = "not_found";
    pub const ALREADY_EXISTS: &str = "already_exists";
    pub const NOT_A_DIRECTORY: &str = "not_a_directory";
    pub const IS_A_DIRECTORY: &str = "is_a_directory";
    pub const DIRECTORY_NOT_EMPTY: &str = "directory_not_empty";
    pub const READ_ONLY: &str = "read_only";
    pub const PATH_ESCAPE: &str = "path_escape";
    pub const LIMIT_EXCEEDED: &str = "limit_exceeded";
    pub const TIMEOUT: &str = "timeout";
    pub const UNKNOWN_ACTION: &str = "unknown_action";
    pub const UNSUPPORTED: &str = "unsupported";
    pub const BRIDGE_FAILED: &str = "bridge_failed";
    /// The target no longer takes input, e.g. a process's closed standard input.
    pub const CLOSED: &str = "closed";
    pub const INTERNAL: &str = "internal";
    /// An agent answered a request with a JSON-RPC error (in the metadata).
    pub const AGENT_ERROR: &str = "agent_error";
    /// A session's agent process ended while a request to it was in flight.
    pub const AGENT_EXITED: &str = "agent_exited";
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
    pub fn read_only(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::READ_ONLY, message)
    }
    pub fn path_escape(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::PATH_ESCAPE, message)
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
    pub fn closed(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::CLOSED, message)
    }
    pub fn agent_error(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::AGENT_ERROR, message)
    }
    pub fn agent_exited(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::AGENT_EXITED, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::INTERNAL, message)
    }

    /// Maps an I/O failure on a VM path to the code a client can act on.
    pub fn io(err: &std::io::Error, vm_path: &str) -> Self {
        use std::io::ErrorKind as K;
        let code = match err.kind() {
            K::NotFound => code::NOT_FOUND,
            K::AlreadyExists => code::ALREADY_EXISTS,
            K::NotADirectory => code::NOT_A_DIRECTORY,
            K::IsADirectory => code::IS_A_DIRECTORY,
            K::DirectoryNotEmpty => code::DIRECTORY_NOT_EMPTY,
            K::ReadOnlyFilesystem => code::READ_ONLY,
            K::InvalidInput | K::InvalidFilename => code::INVALID_INPUT,
            // cap-std reports a resolution that would leave its directory as PermissionDenied
            // with this message; anything else stays a plain I/O failure.
            K::PermissionDenied if err.to_string().contains("outside of the filesystem") => {
                code::PATH_ESCAPE
            }
            _ => code::INTERNAL,
        };
        Self::new(GROUP_AGENTOS, code, format!("{vm_path}: {err}"))
            .with_metadata(serde_json::json!({ "path": vm_path }))
    }
}

impl From<std::convert::Infallible> for ActorError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
