//! What crosses the wire about spawned processes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::runtime::{Bytes, SafeU64};
use crate::vm::child::pty::{self, PtySize};
use crate::vm::fs::FileContent;

/// Options of `spawn`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct SpawnOptions {
    /// Environment variables, added to a minimal `PATH` and `HOME` (and
    /// `TERM=xterm-256color` on a terminal).
    pub env: Option<BTreeMap<String, String>>,
    /// Working directory, a VM path (default `/`).
    pub cwd: Option<String>,
    /// Written to the process's standard input first; unless `streamStdin`, the input is
    /// then closed.
    pub stdin: Option<FileContent>,
    /// Keeps standard input open for writes until it is closed. Without it the process reads
    /// only the `stdin` option, or nothing. A terminal's input is always open.
    pub stream_stdin: Option<bool>,
    /// Milliseconds before the process and all its descendants are killed.
    pub timeout: Option<u32>,
    /// Runs the process on a terminal of this size instead of pipes: it sees a TTY, its
    /// output (stderr included) arrives as `stdout`, and stdin writes are typed into it.
    pub pty: Option<PtyOptions>,
}

impl SpawnOptions {
    /// The caller's environment, with `TERM` defaulted on a terminal.
    pub fn launch_env(&self) -> BTreeMap<String, String> {
        match self.pty {
            Some(_) => pty::env_with_term(self.env.as_ref()),
            None => self.env.clone().unwrap_or_default(),
        }
    }

    /// Whether standard input stays open after the `stdin` option is written.
    pub(super) fn streams_stdin(&self) -> bool {
        self.pty.is_some() || self.stream_stdin == Some(true)
    }
}

/// The terminal a process runs on when spawned with `pty`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct PtyOptions {
    /// Width in columns (default 80).
    pub cols: Option<u16>,
    /// Height in rows (default 24).
    pub rows: Option<u16>,
}

impl PtyOptions {
    /// The size, 80x24 unless given.
    pub fn size(self) -> PtySize {
        PtySize::or_default(self.cols, self.rows)
    }
}

/// A process spawned in the VM, running or exited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInfo {
    /// The process's VM pid: 1, 2, … in spawn order, never reused within the VM.
    pub pid: u32,
    /// The argv it was started with, as the VM sees it.
    pub command: Vec<String>,
    /// Whether it runs on a terminal.
    pub pty: bool,
    /// The host pid of the process the host started for it (its sandbox, when sandboxed), for
    /// matching against the host pids of the process tree and host tools.
    pub host_pid: u32,
    /// Whether it is still running.
    pub running: bool,
    /// Its exit code, absent while running or when a signal ended it.
    pub exit_code: Option<i32>,
    /// The signal that ended it, e.g. `SIGTERM`.
    pub signal: Option<String>,
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ProcessStream {
    /// Standard output; all output of a process on a terminal.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Output of a spawned process, as it arrives.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessOutput {
    /// The VM pid of the process that wrote it.
    pub pid: u32,
    /// The stream it was written to.
    pub stream: ProcessStream,
    /// The bytes, as written (often but not always UTF-8).
    pub data: Bytes,
    /// The cursor after these bytes: `readProcessOutput(pid, { after: cursor })` returns
    /// what came next, for a client that missed events.
    pub cursor: SafeU64,
}

/// How a spawned process ended; reported once, after its last output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessExit {
    /// The VM pid of the process that ended.
    pub pid: u32,
    /// The exit code, absent when a signal ended the process.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, e.g. `SIGKILL`.
    pub signal: Option<String>,
    /// Whether the `timeout` option ended it.
    pub timed_out: bool,
}

/// What a host process is doing, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum OsProcessState {
    /// Running or ready to run (`R`).
    Running,
    /// Waiting for something, interruptibly (`S`).
    Sleeping,
    /// Waiting for I/O, uninterruptibly (`D`).
    DiskSleep,
    /// Stopped by a signal or a debugger (`T`, `t`).
    Stopped,
    /// Exited, not yet reaped by its parent (`Z`).
    Zombie,
    /// Idle kernel thread (`I`).
    Idle,
    /// Anything else the kernel reports (`X`, `W`, …).
    Other,
}

impl OsProcessState {
    pub(super) fn from_code(code: char) -> Self {
        match code {
            'R' => Self::Running,
            'S' => Self::Sleeping,
            'D' => Self::DiskSleep,
            'T' | 't' => Self::Stopped,
            'Z' => Self::Zombie,
            'I' => Self::Idle,
            _ => Self::Other,
        }
    }
}

/// An OS process running for a spawned process: the program itself or a descendant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OsProcess {
    /// The VM pid of the spawned process it runs for.
    pub pid: u32,
    /// Its host pid.
    pub host_pid: u32,
    /// Its parent's host pid.
    pub parent_host_pid: u32,
    /// Its argv; empty once it has exited and awaits reaping.
    pub command: Vec<String>,
    /// Its executable's name as the kernel keeps it (at most 15 bytes).
    pub name: String,
    /// What it is doing.
    pub state: OsProcessState,
}

/// An OS process with the processes it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessNode {
    /// The process.
    pub process: OsProcess,
    /// Its children, oldest first.
    pub children: Vec<ProcessNode>,
}
