//! The VM's own error codes and constructors, over the runtime's generic ones: what a file,
//! a path or an agent can fail with. `use crate::error::VmError` and call them on
//! [`ActorError`] like its own (`ActorError::io(&err, path)`).

use crate::runtime::{ActorError, GROUP_AGENTOS};

/// Every code a VM raises: the runtime's generic ones and the VM's own.
pub mod code {
    pub use agentos_runtime::code::*;

    pub const NOT_A_DIRECTORY: &str = "not_a_directory";
    pub const IS_A_DIRECTORY: &str = "is_a_directory";
    pub const DIRECTORY_NOT_EMPTY: &str = "directory_not_empty";
    pub const READ_ONLY: &str = "read_only";
    pub const PATH_ESCAPE: &str = "path_escape";
    /// An agent answered a request with a JSON-RPC error (in the metadata).
    pub const AGENT_ERROR: &str = "agent_error";
    /// A session's agent process ended while a request to it was in flight.
    pub const AGENT_EXITED: &str = "agent_exited";
    /// A credential past its time (a preview URL's token).
    pub const EXPIRED: &str = "expired";
}

/// The VM's errors, as constructors on [`ActorError`].
pub trait VmError: Sized {
    fn read_only(message: impl Into<String>) -> Self;
    fn path_escape(message: impl Into<String>) -> Self;
    fn agent_error(message: impl Into<String>) -> Self;
    fn agent_exited(message: impl Into<String>) -> Self;
    /// Maps an I/O failure on a VM path to the code a client can act on.
    fn io(err: &std::io::Error, vm_path: &str) -> Self;
}

impl VmError for ActorError {
    fn read_only(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::READ_ONLY, message)
    }
    fn path_escape(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::PATH_ESCAPE, message)
    }
    fn agent_error(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::AGENT_ERROR, message)
    }
    fn agent_exited(message: impl Into<String>) -> Self {
        Self::new(GROUP_AGENTOS, code::AGENT_EXITED, message)
    }
    fn io(err: &std::io::Error, vm_path: &str) -> Self {
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
