//! Interactive shells: programs on a PTY of their own, in a new session with the PTY as
//! controlling terminal, so that job control, line editing and `SIGWINCH` work as in a real
//! terminal. Output streams to a callback; exit is reported once, after the last output.

#[cfg(test)]
mod tests;
mod types;

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::process::supervise::{self, Group, Stop};
use super::sandbox::{Plan, reset_signals};
use crate::runtime::{ActorError, Bytes};
pub(in crate::vm) use types::DEFAULT_TERM;
pub use types::{ShellData, ShellExit, ShellInfo, ShellOptions, ShellSize};

/// How many exits `wait` can still answer for shells that have left the list.
const EXITS_KEPT: usize = 256;

/// One VM's shells. Every method takes `&self`; a task per shell reads its output and reaps
/// it. Dropping the registry kills every shell still running.
#[derive(Default)]
pub struct Shells {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// The number of the last shell opened: ids are `sh1`, `sh2`, …
    last: u64,
    live: BTreeMap<u64, Live>,
    /// Exits of shells no longer live, the oldest dropped first past `EXITS_KEPT`.
    exited: BTreeMap<u64, ShellExit>,
}

struct Live {
    info: ShellInfo,
    /// Writers take turns so that concurrent writes do not interleave.
    input: Arc<tokio::sync::Mutex<pty_process::OwnedWritePty>>,
    /// A second handle on the PTY, so that a resize never waits behind a write the shell is
    /// not reading.
    control: pty_process::Pty,
    stop: watch::Sender<Stop>,
    exit: watch::Receiver<Option<ShellExit>>,
}

impl Shells {
    /// Starts `plan` on a new PTY of `size`. `command` is the argv as the VM sees it (the
    /// plan's program is the sandbox). `on_data` gets every chunk of output; `on_exit` is called
    /// once, after the last chunk. Must be called within a tokio runtime.
    pub fn open(
        &self,
        plan: Plan,
        command: Vec<String>,
        size: ShellSize,
        on_data: impl Fn(ShellData) + Send + Sync + 'static,
        on_exit: impl Fn(ShellExit) + Send + Sync + 'static,
    ) -> Result<ShellInfo, ActorError> {
        let size = size.check()?;
        let Terminal {
            child,
            pid,
            output,
            input,
            control,
        } = Terminal::start(&plan, size)?;
        // A hangup goes to the whole group, so that it ends the sandbox too.
        let group = Group::new(pid, 0);
        let (stop_tx, stop_rx) = watch::channel(Stop::Run);
        let (exit_tx, exit_rx) = watch::channel(None);
        let (number, info) = {
            let mut state = lock(&self.state);
            state.last += 1;
            let number = state.last;
            let info = ShellInfo {
                shell_id: format!("sh{number}"),
                pid,
                cols: size.cols,
                rows: size.rows,
                command,
            };
            state.live.insert(
                number,
                Live {
                    info: info.clone(),
                    input: Arc::new(tokio::sync::Mutex::new(input)),
                    control,
                    stop: stop_tx,
                    exit: exit_rx,
                },
            );
            (number, info)
        };
        let shell_id = info.shell_id.clone();
        let state = self.state.clone();
        tokio::spawn(async move {
            let output = supervise::chunks((), output);
            let exit = supervise::run(child, group, output, stop_rx, None, |(), chunk| {
                on_data(ShellData {
                    shell_id: shell_id.clone(),
                    data: Bytes(chunk),
                });
            })
            .await;
            let exit = ShellExit {
                shell_id,
                exit_code: exit.exit_code,
                signal: exit.signal,
            };
            on_exit(exit.clone());
            let mut state = lock(&state);
            state.live.remove(&number);
            state.exited.insert(number, exit.clone());
            while state.exited.len() > EXITS_KEPT {
                state.exited.pop_first();
            }
            exit_tx.send_replace(Some(exit));
        });
        Ok(info)
    }

    /// Types `data` into the shell's terminal. Waits while the terminal's input queue is
    /// full, that is until the shell reads.
    pub async fn write(&self, shell_id: &str, data: &[u8]) -> Result<(), ActorError> {
        let input = lock(&self.state).live(shell_id)?.input.clone();
        let mut input = input.lock().await;
        input
            .write_all(data)
            .await
            .map_err(|e| ActorError::internal(format!("writing to shell {shell_id}: {e}")))
    }

    /// Changes the terminal's size; the kernel sends `SIGWINCH` to its foreground job.
    pub fn resize(&self, shell_id: &str, size: ShellSize) -> Result<(), ActorError> {
        let size = size.check()?;
        let mut state = lock(&self.state);
        let live = state.live_mut(shell_id)?;
        live.control.resize(size.into()).map_err(pty_error)?;
        live.info.cols = size.cols;
        live.info.rows = size.rows;
        Ok(())
    }

    /// Hangs up the shell: `SIGHUP` to its process group, `SIGKILL` if it is still there
    /// after a grace period. Returns once it has exited and `on_exit` has been called;
    /// closing a shell that has already exited does nothing.
    pub async fn close(&self, shell_id: &str) -> Result<(), ActorError> {
        let exit = {
            let state = lock(&self.state);
            if state.exit(shell_id).is_some() {
                return Ok(());
            }
            let live = state.live(shell_id)?;
            live.stop.send_if_modified(|stop| {
                let run = *stop == Stop::Run;
                if run {
                    *stop = Stop::Ask(Signal::SIGHUP);
                }
                run
            });
            live.exit.clone()
        };
        exited(exit).await.map(drop)
    }

    /// Waits for the shell to exit, or answers at once if it has.
    pub async fn wait(&self, shell_id: &str) -> Result<ShellExit, ActorError> {
        let exit = {
            let state = lock(&self.state);
            if let Some(exit) = state.exit(shell_id) {
                return Ok(exit.clone());
            }
            state.live(shell_id)?.exit.clone()
        };
        exited(exit).await
    }

    /// The running shells, sorted by id.
    pub fn list(&self) -> Vec<ShellInfo> {
        lock(&self.state)
            .live
            .values()
            .map(|live| live.info.clone())
            .collect()
    }
}

impl Drop for Shells {
    fn drop(&mut self) {
        for live in lock(&self.state).live.values() {
            live.stop.send_replace(Stop::Kill);
        }
    }
}

impl State {
    fn live(&self, shell_id: &str) -> Result<&Live, ActorError> {
        parse_id(shell_id)
            .and_then(|number| self.live.get(&number))
            .ok_or_else(|| unknown(shell_id))
    }

    fn live_mut(&mut self, shell_id: &str) -> Result<&mut Live, ActorError> {
        parse_id(shell_id)
            .and_then(|number| self.live.get_mut(&number))
            .ok_or_else(|| unknown(shell_id))
    }

    fn exit(&self, shell_id: &str) -> Option<&ShellExit> {
        parse_id(shell_id).and_then(|number| self.exited.get(&number))
    }
}

/// The number in `sh<n>`, only for the exact spelling the registry issues (not `sh01`).
fn parse_id(shell_id: &str) -> Option<u64> {
    let number: u64 = shell_id.strip_prefix("sh")?.parse().ok()?;
    (format!("sh{number}") == shell_id).then_some(number)
}

fn unknown(shell_id: &str) -> ActorError {
    ActorError::not_found(format!("no shell {shell_id}"))
        .with_metadata(serde_json::json!({ "shellId": shell_id }))
}

async fn exited(mut exit: watch::Receiver<Option<ShellExit>>) -> Result<ShellExit, ActorError> {
    exit.wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|exit| exit.clone())
        .ok_or_else(|| ActorError::internal("the shell's task ended without reporting its exit"))
}

/// A program started on a new PTY: a shell, or a process spawned with a terminal.
pub(super) struct Terminal {
    pub(super) child: tokio::process::Child,
    /// Its host pid, which is also its process group's id.
    pub(super) pid: u32,
    pub(super) output: pty_process::OwnedReadPty,
    pub(super) input: pty_process::OwnedWritePty,
    /// A second handle on the PTY, so that a resize never waits behind a write the program
    /// is not reading.
    pub(super) control: pty_process::Pty,
}

impl Terminal {
    /// Starts `plan` on a new PTY of `size` (already checked).
    pub(super) fn start(plan: &Plan, size: ShellSize) -> Result<Self, ActorError> {
        let (pty, pts) = pty_process::open().map_err(pty_error)?;
        pty.resize(size.into()).map_err(pty_error)?;
        let control = pty
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| pty_error(e.into()))?;
        // SAFETY: a duplicate of the master that `open` allocated and made non-blocking (the
        // flag belongs to the open file description both descriptors share).
        let control = unsafe { pty_process::Pty::from_fd(control) }.map_err(pty_error)?;
        let child = spawn(plan, pts).map_err(|e| {
            ActorError::internal(format!("cannot start {} on a terminal: {e}", plan.program))
        })?;
        let pid = child.id().ok_or_else(|| {
            ActorError::internal("the program was reaped before it was registered")
        })?;
        let (output, input) = pty.into_split();
        Ok(Self {
            child,
            pid,
            output,
            input,
            control,
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

fn pty_error(err: pty_process::Error) -> ActorError {
    ActorError::internal(format!("terminal: {err}"))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
