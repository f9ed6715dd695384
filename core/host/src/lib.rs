//! agentos-host: the embedded host, which serves generated surfaces over a loopback WebSocket
//! and HTTP in one process, its `serve` command, and the `agentos` binary.

pub mod cli;
pub mod embedded;
