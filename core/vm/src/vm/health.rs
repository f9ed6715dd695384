//! `getRuntimeHealth`: what a VM is running, how its last agents ended and what it cannot do,
//! in one answer, for dashboards and for a client deciding whether the VM is fit to use; and
//! `vmShutdown`, the VM's last word to its connections.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::fs::{MountInfo, MountRestored};
use super::sandbox::SandboxInfo;
use super::session::AgentExitRecord;
use crate::runtime::SafeU64;
use crate::runtime::instance::Closing;

/// The VM is closing on purpose, and why: its processes, shells and agents end now, and the
/// connection closes. It opens again on the next connection (or, after `sleep`, the next use).
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VmShutdown {
    pub reason: Closing,
}

/// A VM's health.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeHealth {
    /// Milliseconds since this VM opened (on this host).
    pub uptime_ms: SafeU64,
    /// Live sessions.
    pub sessions: u32,
    /// Spawned processes still running.
    pub processes: u32,
    /// Open shells.
    pub shells: u32,
    /// Permission requests no one has answered (`listPendingPermissions`).
    pub pending_permissions: u32,
    /// How the last agents ended, oldest first, each with its last stderr lines.
    pub agent_exits: Vec<AgentExitRecord>,
    /// What the VM cannot do as configured, one sentence each.
    pub warnings: Vec<String>,
}

/// What a VM's parts report, gathered by `AgentOs::get_runtime_health`.
pub(crate) struct Parts {
    pub opened_at: Instant,
    pub sessions: usize,
    pub processes: usize,
    pub shells: usize,
    pub pending_permissions: usize,
    pub agent_exits: Vec<AgentExitRecord>,
    pub sandbox: SandboxInfo,
    pub mounts: Vec<MountInfo>,
}

impl From<Parts> for RuntimeHealth {
    fn from(parts: Parts) -> Self {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let mut warnings = Vec::new();
        if !parts.sandbox.available {
            warnings.push("processes cannot run: bubblewrap (bwrap) is not installed".to_owned());
        }
        if let Some(why) = parts.sandbox.limits_unavailable {
            warnings.push(format!("processes run without per-VM limits: {why}"));
        }
        for mount in parts.mounts {
            if let Some(MountRestored::Unavailable { reason }) = mount.restored {
                warnings.push(format!("mount {} is unavailable: {reason}", mount.path));
            }
        }
        let uptime = u64::try_from(parts.opened_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        Self {
            uptime_ms: SafeU64::new(uptime).unwrap_or_default(),
            sessions: count(parts.sessions),
            processes: count(parts.processes),
            shells: count(parts.shells),
            pending_permissions: count(parts.pending_permissions),
            agent_exits: parts.agent_exits,
            warnings,
        }
    }
}
