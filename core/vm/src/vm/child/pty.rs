//! Programs on a PTY of their own (shells, and processes spawned with `pty`): the terminal's
//! size and type, and starting a plan on a new one, as session leader with the PTY as its
//! controlling terminal, so that job control, line editing and `SIGWINCH` work as in a real
//! terminal.

use std::collections::BTreeMap;
use std::os::fd::AsFd;

use super::{Started, host_pid};
use crate::runtime::ActorError;
use crate::vm::sandbox::{Plan, reset_signals};

/// The terminal type a program on a PTY sees unless the caller sets `TERM`.
const DEFAULT_TERM: &str = "xterm-256color";

/// A terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtySize {
    /// Columns, at least 1.
    pub cols: u16,
    /// Rows, at least 1.
    pub rows: u16,
}

impl PtySize {
    /// The size given, 80x24 where not.
    pub(in crate::vm) fn or_default(cols: Option<u16>, rows: Option<u16>) -> Self {
        Self {
            cols: cols.unwrap_or(80),
            rows: rows.unwrap_or(24),
        }
    }

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

impl From<PtySize> for pty_process::Size {
    fn from(size: PtySize) -> Self {
        Self::new(size.rows, size.cols)
    }
}

/// The caller's environment with `TERM` defaulted: without it, programs on a terminal fall
/// back to a dumb one with no line editing.
pub(in crate::vm) fn env_with_term(
    env: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut env = env.cloned().unwrap_or_default();
    env.entry("TERM".to_owned())
        .or_insert_with(|| DEFAULT_TERM.to_owned());
    env
}

/// The PTY a program was started on.
pub(in crate::vm) struct Pty {
    pub output: pty_process::OwnedReadPty,
    pub input: pty_process::OwnedWritePty,
    /// A second handle on the PTY, so that a resize never waits behind a write the program
    /// is not reading.
    pub control: pty_process::Pty,
}

impl Started<Pty> {
    /// Starts `plan`, made for a terminal, on a new PTY of `size` (checked first).
    pub(in crate::vm) fn on_pty(plan: &Plan, size: PtySize) -> Result<Self, ActorError> {
        let size = size.check()?;
        let (pty, pts) = pty_process::open().map_err(pty_error)?;
        pty.resize(size.into()).map_err(pty_error)?;
        let control = pty
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| pty_error(e.into()))?;
        // SAFETY: a duplicate of the master that `open` allocated and made non-blocking (the
        // flag belongs to the open file description both descriptors share).
        let control = unsafe { pty_process::Pty::from_fd(control) }.map_err(pty_error)?;
        let process = spawn(plan, pts).map_err(|e| {
            ActorError::internal(format!("cannot start {} on a terminal: {e}", plan.program))
        })?;
        let (output, input) = pty.into_split();
        Ok(Self {
            pid: host_pid(&process)?,
            process,
            io: Pty {
                output,
                input,
                control,
            },
        })
    }
}

/// Starts `plan` on the terminal `pts`. A plan that takes its controlling terminal itself
/// (inside a sandbox) starts in a new session without one; otherwise the program is made a
/// session leader with `pts` as its controlling terminal.
fn spawn(plan: &Plan, pts: pty_process::Pts) -> std::io::Result<tokio::process::Child> {
    if !plan.acquires_terminal {
        let cmd = pty_process::Command::new(&plan.program)
            .args(&plan.args)
            .env_clear()
            .envs(&plan.env)
            .current_dir(&plan.cwd);
        // SAFETY: `reset_signals` makes only async-signal-safe system calls.
        let cmd = unsafe {
            cmd.pre_exec(|| {
                reset_signals();
                Ok(())
            })
        };
        return cmd.spawn(pts).map_err(std::io::Error::other);
    }
    let tty = || pts.as_fd().try_clone_to_owned();
    plan.terminal_command()
        .stdin(tty()?)
        .stdout(tty()?)
        .stderr(tty()?)
        .spawn()
}

pub(in crate::vm) fn pty_error(err: pty_process::Error) -> ActorError {
    ActorError::internal(format!("terminal: {err}"))
}
