//! agentos-core: the `AgentOs` VM and its annotated actor surface, and the flags every host
//! shares. What generated code calls is `agentos-runtime`, re-exported as [`runtime`].

mod agent_os;
pub mod cli;
pub mod error;
pub mod vm;

pub use agent_os::{AgentOs, agent_os_actions};
pub use agentos_macros::surface;
pub use agentos_runtime as runtime;
pub use vm::config::{VmConfig, VmQuotas};
