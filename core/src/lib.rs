//! agentos-core: the `AgentOs` runtime, its annotated actor surface, and the actor runtime
//! and hosts that the `#[surface]` macro's generated code calls.

// Generated code names `::agentos_core::…`; this makes those paths resolve inside this crate too.
extern crate self as agentos_core;

mod agent_os;
pub mod cli;
pub mod host;
pub mod runtime;

pub use agentos_macros::surface;
pub mod vm;

pub use agent_os::{AgentOs, VmConfig, VmQuotas, agent_os_actions};
