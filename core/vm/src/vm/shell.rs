//! Interactive shells: programs on a PTY of their own, in a new session with the PTY as
//! controlling terminal, so that job control, line editing and `SIGWINCH` work as in a real
//! terminal. Output streams to a callback; exit is reported once, after the last output.

#[cfg(test)]
mod tests;
mod types;

use std::sync::Arc;

use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;

use super::child::output_log::OutputLogs;
use super::child::pty::pty_error;
use super::child::{Entry, Found, Group, Launcher, PtySize, Started, Table, chunks, supervise};
use super::process::{OutputPage, OutputReadOptions};
use crate::runtime::{ActorError, Bytes};
pub use types::{ShellData, ShellExit, ShellInfo, ShellOptions};

/// One VM's shells, running and among the last 256 exited, by id (`sh1`, `sh2`, …). Every
/// method takes `&self`; a task per shell reads its output and reaps it. Dropping the
/// registry kills every shell still running.
pub struct Shells {
    launcher: Launcher,
    table: Table<Live, ShellExit>,
    logs: Arc<OutputLogs>,
}

struct Live {
    info: ShellInfo,
    /// Writers take turns so that concurrent writes do not interleave.
    input: Arc<tokio::sync::Mutex<pty_process::OwnedWritePty>>,
    /// A second handle on the PTY, so that a resize never waits behind a write the shell is
    /// not reading.
    control: pty_process::Pty,
}

impl Shells {
    /// A registry whose shells start through `launcher`, at most `max_running` at once.
    pub(crate) fn new(launcher: Launcher, max_running: usize, log_bytes: usize) -> Self {
        Self {
            launcher,
            table: Table::new("shells", max_running),
            logs: Arc::new(OutputLogs::new(log_bytes)),
        }
    }

    /// The shell's output after `options.after`, at most `limit` bytes of it (and at most
    /// `options.maxBytes`), from its log: what a terminal that reattaches shows first.
    pub fn read_output(
        &self,
        shell_id: &str,
        options: OutputReadOptions,
        limit: usize,
    ) -> Result<OutputPage, ActorError> {
        let log = parse_id(shell_id)
            .and_then(|number| self.logs.get(number))
            .ok_or_else(|| unknown(shell_id))?;
        let max = options.max_bytes.map_or(limit, |m| (m as usize).min(limit));
        Ok(log.read(options.after.map_or(0, |a| a.get()), max))
    }

    /// Starts the shell `options` describe in the VM's sandbox, on a new PTY. `on_data` gets
    /// every chunk of output; `on_exit` is called once, after the last chunk. Must be called
    /// within a tokio runtime.
    pub fn open(
        &self,
        options: &ShellOptions,
        on_data: impl Fn(ShellData) + Send + Sync + 'static,
        on_exit: impl Fn(ShellExit) + Send + Sync + 'static,
    ) -> Result<ShellInfo, ActorError> {
        self.table.check_room()?;
        let command = options.argv();
        let plan = self.launcher.plan(
            &command,
            options.cwd.as_deref(),
            &options.launch_env(),
            &[],
            true,
        )?;
        let size = options.size();
        let Started { process, pid, io } = Started::on_pty(&plan, size)?;
        // A hangup goes to the whole group, so that it ends the sandbox too.
        let group = Group::new(pid, 0);
        let (info, Entry { stop, end }) = self.table.insert(|number| {
            let info = ShellInfo {
                shell_id: format!("sh{number}"),
                pid,
                cols: size.cols,
                rows: size.rows,
                command,
            };
            let live = Live {
                info: info.clone(),
                input: Arc::new(tokio::sync::Mutex::new(io.input)),
                control: io.control,
            };
            Ok((live, info))
        })?;
        let shell_id = info.shell_id.clone();
        let number = parse_id(&shell_id).unwrap_or_default();
        let (log, logs) = (self.logs.start(number), self.logs.clone());
        tokio::spawn(async move {
            let output = chunks((), io.output);
            let exit = supervise::run(process, group, output, stop, None, |(), chunk| {
                let cursor = log.append(None, &chunk);
                on_data(ShellData {
                    shell_id: shell_id.clone(),
                    data: Bytes(chunk),
                    cursor,
                });
            })
            .await;
            logs.end(number, &log);
            let exit = ShellExit {
                shell_id,
                exit_code: exit.exit_code,
                signal: exit.signal,
            };
            on_exit(exit.clone());
            end.send(exit);
        });
        Ok(info)
    }

    /// Types `data` into the shell's terminal. Waits while the terminal's input queue is
    /// full, that is until the shell reads.
    pub async fn write(&self, shell_id: &str, data: &[u8]) -> Result<(), ActorError> {
        let input = {
            let rows = self.table.lock();
            match parse_id(shell_id).and_then(|number| rows.find(number)) {
                Some(Found::Running(live)) => live.input.clone(),
                _ => return Err(unknown(shell_id)),
            }
        };
        let mut input = input.lock().await;
        input
            .write_all(data)
            .await
            .map_err(|e| ActorError::internal(format!("writing to shell {shell_id}: {e}")))
    }

    /// Changes the terminal's size; the kernel sends `SIGWINCH` to its foreground job.
    pub fn resize(&self, shell_id: &str, size: PtySize) -> Result<(), ActorError> {
        let size = size.check()?;
        let mut rows = self.table.lock();
        let live = parse_id(shell_id)
            .and_then(|number| rows.running_mut(number))
            .ok_or_else(|| unknown(shell_id))?;
        live.control.resize(size.into()).map_err(pty_error)?;
        live.info.cols = size.cols;
        live.info.rows = size.rows;
        Ok(())
    }

    /// Hangs up the shell: `SIGHUP` to its process group, `SIGKILL` if it is still there
    /// after a grace period. Returns once it has exited and `on_exit` has been called;
    /// closing a shell that has already exited does nothing.
    pub async fn close(&self, shell_id: &str) -> Result<(), ActorError> {
        let ending = parse_id(shell_id)
            .and_then(|number| self.table.stop(number, Signal::SIGHUP))
            .ok_or_else(|| unknown(shell_id))?;
        ending.await.map(drop)
    }

    /// Waits for the shell to exit, or answers at once if it has.
    pub async fn wait(&self, shell_id: &str) -> Result<ShellExit, ActorError> {
        let ending = parse_id(shell_id)
            .and_then(|number| self.table.wait(number))
            .ok_or_else(|| unknown(shell_id))?;
        ending.await
    }

    /// The running shells, sorted by id.
    pub fn list(&self) -> Vec<ShellInfo> {
        (self.table.lock().running())
            .map(|live| live.info.clone())
            .collect()
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
