//! Hosts: what runs generated surfaces for clients. The embedded host serves them over a
//! loopback WebSocket in one process.

pub mod embedded;
