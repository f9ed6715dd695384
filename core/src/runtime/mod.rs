//! The actor runtime that generated code calls: errors, wire types, codec, contract, dispatch.

mod error;
mod wire_types;

pub use error::{ActorError, GROUP_AGENTOS, GROUP_HOST, code};
pub use wire_types::{Bytes, MAX_SAFE_INTEGER, SafeU64};
