//! What crosses the wire about shells.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::runtime::{Bytes, SafeU64};
use crate::vm::child::pty::{self, PtySize};

/// The program a shell runs unless the caller names one.
const DEFAULT_SHELL: &str = "/bin/sh";

/// Options of `openShell`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ShellOptions {
    /// The program to run (default `/bin/sh`).
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Environment variables, added to a minimal `PATH`, `HOME` and `TERM=xterm-256color`.
    pub env: Option<BTreeMap<String, String>>,
    /// Working directory, a VM path (default `/`).
    pub cwd: Option<String>,
    /// Terminal width in columns (default 80).
    pub cols: Option<u16>,
    /// Terminal height in rows (default 24).
    pub rows: Option<u16>,
}

impl ShellOptions {
    /// The argv to launch: the command (default `/bin/sh`) and its arguments.
    pub fn argv(&self) -> Vec<String> {
        let program = self.command.as_deref().unwrap_or(DEFAULT_SHELL).to_owned();
        std::iter::once(program)
            .chain(self.args.iter().flatten().cloned())
            .collect()
    }

    /// The caller's environment with `TERM` defaulted.
    pub fn launch_env(&self) -> BTreeMap<String, String> {
        pty::env_with_term(self.env.as_ref())
    }

    /// The initial size, 80x24 unless given.
    pub fn size(&self) -> PtySize {
        PtySize::or_default(self.cols, self.rows)
    }
}

/// A running shell.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShellInfo {
    /// The shell's id, e.g. `sh1`.
    pub shell_id: String,
    /// The host process id of the shell's process (its sandbox, when sandboxed).
    pub pid: u32,
    /// Terminal width in columns.
    pub cols: u16,
    /// Terminal height in rows.
    pub rows: u16,
    /// The argv the shell was started with, as the VM sees it.
    pub command: Vec<String>,
}

/// Output of a shell: what its programs wrote to the terminal, echo included.
#[derive(Serialize, Deserialize, TS, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ShellData {
    /// The shell that wrote it.
    pub shell_id: String,
    /// The bytes, as the terminal carries them (often but not always UTF-8).
    pub data: Bytes,
    /// The cursor after these bytes: `readShellOutput(shellId, { after: cursor })` returns
    /// what came next.
    pub cursor: SafeU64,
}

/// How a shell ended.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShellExit {
    /// The shell that ended.
    pub shell_id: String,
    /// The exit code, absent when a signal ended the shell.
    pub exit_code: Option<i32>,
    /// The signal that ended the shell, e.g. `SIGKILL`.
    pub signal: Option<String>,
}
