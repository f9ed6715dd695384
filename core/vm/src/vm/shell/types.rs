//! What crosses the wire about shells.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::runtime::{ActorError, Bytes};

/// The terminal type a shell sees unless the caller sets `TERM`.
pub(in crate::vm) const DEFAULT_TERM: &str = "xterm-256color";

/// The program a shell runs unless the caller names one.
const DEFAULT_SHELL: &str = "/bin/sh";

/// A terminal size in character cells.
#[derive(Serialize, Deserialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShellSize {
    /// Columns, at least 1.
    pub cols: u16,
    /// Rows, at least 1.
    pub rows: u16,
}

impl ShellSize {
    pub(in crate::vm) fn check(self) -> Result<Self, ActorError> {
        if self.cols == 0 || self.rows == 0 {
            return Err(ActorError::invalid_input(format!(
                "a terminal needs at least one column and one row, not {}x{}",
                self.cols, self.rows
            )));
        }
        Ok(self)
    }
}

impl From<ShellSize> for pty_process::Size {
    fn from(size: ShellSize) -> Self {
        Self::new(size.rows, size.cols)
    }
}

/// Options of `openShell`.
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShellOptions {
    /// The program to run (default `/bin/sh`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment variables, added to a minimal `PATH`, `HOME` and `TERM=xterm-256color`.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// Working directory, a VM path (default `/`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Terminal width in columns (default 80).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cols: Option<u16>,
    /// Terminal height in rows (default 24).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

    /// The caller's environment with `TERM` defaulted: without it, programs on a terminal
    /// fall back to a dumb one with no line editing.
    pub fn launch_env(&self) -> BTreeMap<String, String> {
        let mut env = self.env.clone().unwrap_or_default();
        env.entry("TERM".to_owned())
            .or_insert_with(|| DEFAULT_TERM.to_owned());
        env
    }

    /// The initial size, 80x24 unless given.
    pub fn size(&self) -> ShellSize {
        ShellSize {
            cols: self.cols.unwrap_or(80),
            rows: self.rows.unwrap_or(24),
        }
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
