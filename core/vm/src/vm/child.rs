//! The layer every program of the VM runs on, whoever starts it (`exec`, a spawned process, a
//! shell, an agent and the terminals it opens): its plan in the sandbox over the VM's tree
//! ([`Launcher`]), its start on pipes or on a PTY ([`Started`], [`pty`]), the process group
//! that alone signals and kills it ([`Group`]), the task that sees it to its end
//! ([`supervise`]), and the table of those running and ended ([`Table`]).

mod group;
mod launcher;
pub(in crate::vm) mod output_log;
pub(in crate::vm) mod procfs;
pub(in crate::vm) mod pty;
pub(in crate::vm) mod signal;
pub(in crate::vm) mod supervise;
mod table;

use std::process::Stdio;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

use super::sandbox::Plan;
use crate::runtime::ActorError;
pub(in crate::vm) use group::{Ended, Group};
pub(crate) use launcher::Launcher;
pub(crate) use pty::PtySize;
pub(in crate::vm) use table::{Entry, Found, Rows, Table};

/// The largest chunk of output passed on.
const CHUNK: usize = 16 * 1024;

/// A program the host started for the VM, leading a process group of its own, and its
/// input and output: [`Pipes`] or a [`pty::Pty`].
pub(in crate::vm) struct Started<Io> {
    pub process: tokio::process::Child,
    /// Its host pid, which is also its process group's id.
    pub pid: u32,
    pub io: Io,
}

/// The pipes of a program started on them.
pub(in crate::vm) struct Pipes {
    /// Present when asked for; otherwise the program reads `/dev/null`.
    pub stdin: Option<ChildStdin>,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
}

impl Started<Pipes> {
    /// Starts `plan` on pipes, with standard input piped only if `stdin`.
    pub(in crate::vm) fn piped(plan: &Plan, stdin: bool) -> Result<Self, ActorError> {
        let mut process = plan
            .command()
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ActorError::internal(format!("cannot start {}: {e}", plan.program)))?;
        let io = Pipes {
            stdin: process.stdin.take(),
            stdout: process.stdout.take().expect("stdout is piped"),
            stderr: process.stderr.take().expect("stderr is piped"),
        };
        Ok(Self {
            pid: host_pid(&process)?,
            process,
            io,
        })
    }
}

/// The host pid of a process just started.
fn host_pid(process: &tokio::process::Child) -> Result<u32, ActorError> {
    process
        .id()
        .ok_or_else(|| ActorError::internal("the process was reaped before it was registered"))
}

/// Reads `reader` to its end in chunks, each tagged with `tag`; an error ends it (a terminal
/// reports `EIO` once no process has it open).
pub(in crate::vm) fn chunks<T: Copy>(
    tag: T,
    reader: impl AsyncRead + Unpin,
) -> impl Stream<Item = (T, Vec<u8>)> {
    futures_util::stream::unfold(
        (reader, vec![0u8; CHUNK]),
        move |(mut reader, mut buf)| async move {
            match reader.read(&mut buf).await {
                Ok(n @ 1..) => Some(((tag, buf[..n].to_vec()), (reader, buf))),
                _ => None,
            }
        },
    )
}
