//! The VM's process table: long-running processes spawned in its sandbox, on pipes or on a
//! terminal. Each gets a VM pid (1, 2, … per VM: every sandbox has a pid namespace of its own,
//! so the table's number is the process's identity), streams its output to a callback, can be
//! fed, signalled, stopped and waited for, and reports its exit once, after its last output.

#[cfg(test)]
mod tests;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;

use super::child::output_log::OutputLogs;
/// What `readProcessOutput` and `readShellOutput` take and give.
pub use super::child::output_log::{OutputChunk, OutputPage, OutputReadOptions};
use super::child::pty::Pty;
use super::child::signal::parse_signal;
use super::child::{
    Entry, Found, Group, Launcher, Pipes, PtySize, Rows, Started, Table, chunks, procfs, supervise,
};
use crate::runtime::{ActorError, Bytes};
pub use types::{
    OsProcess, OsProcessState, ProcessExit, ProcessInfo, ProcessNode, ProcessOutput, ProcessStream,
    PtyOptions, SpawnOptions,
};

/// The typed-in end-of-file character: closing a terminal's input sends it.
const EOF_CHAR: u8 = 0x04;

/// One VM's spawned processes, running and among the last 256 exited, by VM pid. Every
/// method takes `&self`; a task per process reads its output, delivers its stop and timeout,
/// and reaps it. Dropping the table kills every process still running, with its whole group.
pub struct Processes {
    launcher: Launcher,
    table: Table<Live, Exited>,
    logs: Arc<OutputLogs>,
}

struct Live {
    info: ProcessInfo,
    group: Arc<Group>,
    /// Writers take turns so that concurrent writes do not interleave.
    stdin: SharedStdin,
    /// A handle on the terminal for resizing, for a process on one.
    terminal: Option<pty_process::Pty>,
}

#[derive(Clone)]
struct Exited {
    info: ProcessInfo,
    exit: ProcessExit,
}

enum Stdin {
    Open(Writer),
    Closed(Closed),
}

/// Why a process's standard input takes no more writes.
#[derive(Debug, Clone, Copy)]
enum Closed {
    NotStreamed,
    ByCaller,
    ByProcess,
    Exited,
}

enum Writer {
    Pipe(tokio::process::ChildStdin),
    Terminal(pty_process::OwnedWritePty),
}

impl Writer {
    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Pipe(pipe) => pipe.write_all(data).await,
            Self::Terminal(pty) => pty.write_all(data).await,
        }
    }
}

type Output = Pin<Box<dyn Stream<Item = (ProcessStream, Vec<u8>)> + Send>>;

/// Writes the `stdin` option.
type Feed = Pin<Box<dyn Future<Output = ()> + Send>>;

type SharedStdin = Arc<tokio::sync::Mutex<Stdin>>;

/// A process's input and output as the table uses them, on pipes or on a terminal.
struct Io {
    output: Output,
    stdin: Option<Writer>,
    terminal: Option<pty_process::Pty>,
}

impl Io {
    fn piped(pipes: Pipes) -> Self {
        let output = futures_util::stream::select(
            chunks(ProcessStream::Stdout, pipes.stdout),
            chunks(ProcessStream::Stderr, pipes.stderr),
        );
        Self {
            output: Box::pin(output),
            stdin: pipes.stdin.map(Writer::Pipe),
            terminal: None,
        }
    }

    fn terminal(pty: Pty) -> Self {
        Self {
            output: Box::pin(chunks(ProcessStream::Stdout, pty.output)),
            stdin: Some(Writer::Terminal(pty.input)),
            terminal: Some(pty.control),
        }
    }
}

impl Processes {
    /// A table whose processes start through `launcher`, at most `max_running` at once, each
    /// keeping its last `log_bytes` of output for `read_output`.
    pub(crate) fn new(launcher: Launcher, max_running: usize, log_bytes: usize) -> Self {
        Self {
            launcher,
            table: Table::new("processes", max_running),
            logs: Arc::new(OutputLogs::new(log_bytes)),
        }
    }

    /// The process's output after `options.after`, at most `limit` bytes of it (and at most
    /// `options.maxBytes`), from its log.
    pub fn read_output(
        &self,
        pid: u32,
        options: OutputReadOptions,
        limit: usize,
    ) -> Result<OutputPage, ActorError> {
        let log = self.logs.get(u64::from(pid)).ok_or_else(|| {
            ActorError::not_found(format!(
                "no output of process {pid}: no such process, or one that ended too long ago"
            ))
        })?;
        let max = options.max_bytes.map_or(limit, |m| (m as usize).min(limit));
        Ok(log.read(options.after.map_or(0, |a| a.get()), max))
    }

    /// Starts `command` (the argv as the VM sees it) in the VM's sandbox as its next process.
    /// `on_output` gets every chunk of output; `on_exit` is called once, after the last chunk.
    /// Must be called within a tokio runtime.
    pub fn spawn(
        &self,
        command: Vec<String>,
        options: &SpawnOptions,
        on_output: impl Fn(ProcessOutput) + Send + Sync + 'static,
        on_exit: impl Fn(ProcessExit) + Send + Sync + 'static,
    ) -> Result<ProcessInfo, ActorError> {
        self.table.check_room()?;
        let plan = self.launcher.plan(
            &command,
            options.cwd.as_deref(),
            &options.launch_env(),
            &[],
            options.pty.is_some(),
        )?;
        let input = options.stdin.as_ref().map(|c| c.as_bytes().to_vec());
        let streaming = options.streams_stdin();
        let (process, host_pid, io) = match options.pty {
            Some(pty) => {
                let started = Started::on_pty(&plan, pty.size())?;
                (started.process, started.pid, Io::terminal(started.io))
            }
            None => {
                let started = Started::piped(&plan, streaming || input.is_some())?;
                (started.process, started.pid, Io::piped(started.io))
            }
        };
        let group = Group::new(host_pid, plan.wrappers);
        let (stdin, feed) = feed(io.stdin, input, streaming);
        let (info, Entry { stop, end }) = self.table.insert(|number| {
            let pid = u32::try_from(number).map_err(|_| {
                group.kill_all();
                ActorError::limit_exceeded("this VM has spawned 2^32-1 processes, all its pids")
            })?;
            let info = ProcessInfo {
                pid,
                command,
                pty: io.terminal.is_some(),
                host_pid,
                running: true,
                exit_code: None,
                signal: None,
            };
            let live = Live {
                info: info.clone(),
                group: group.clone(),
                stdin,
                terminal: io.terminal,
            };
            Ok((live, info))
        })?;
        let timeout = options
            .timeout
            .map(|ms| Duration::from_millis(u64::from(ms)));
        let running = info.clone();
        let log = self.logs.start(u64::from(info.pid));
        let logs = self.logs.clone();
        tokio::spawn(async move {
            let pid = running.pid;
            let run = supervise::run(process, group, io.output, stop, timeout, |stream, data| {
                let cursor = log.append(Some(stream), &data);
                on_output(ProcessOutput {
                    pid,
                    stream,
                    data: Bytes(data),
                    cursor,
                });
            });
            let ended = alongside(run, feed).await;
            logs.end(u64::from(pid), &log);
            let exit = ProcessExit {
                pid,
                exit_code: ended.exit_code,
                signal: ended.signal,
                timed_out: ended.timed_out,
            };
            on_exit(exit.clone());
            let info = ProcessInfo {
                running: false,
                exit_code: exit.exit_code,
                signal: exit.signal.clone(),
                ..running
            };
            end.send(Exited { info, exit });
        });
        Ok(info)
    }

    /// Writes `data` to the process's standard input (types it, on a terminal). Waits while
    /// the pipe is full, that is until the process reads. Fails with `closed` when the input
    /// was not streamed, was closed, or the process has stopped reading or exited.
    pub async fn write_stdin(&self, pid: u32, data: &[u8]) -> Result<(), ActorError> {
        let stdin = match find(&self.table.lock(), pid)? {
            Found::Running(live) => live.stdin.clone(),
            Found::Ended(_) => return Err(closed(pid, Closed::Exited)),
        };
        let mut stdin = stdin.lock().await;
        let written = match &mut *stdin {
            Stdin::Open(writer) => writer.write_all(data).await,
            Stdin::Closed(why) => return Err(closed(pid, *why)),
        };
        written.map_err(|_| {
            *stdin = Stdin::Closed(Closed::ByProcess);
            closed(pid, Closed::ByProcess)
        })
    }

    /// Closes the process's standard input, after the writes in progress: the process reads
    /// its end. On a terminal this types the end-of-file character (^D), which a program
    /// reading lines sees as the end of its input. Closing it again does nothing.
    pub async fn close_stdin(&self, pid: u32) -> Result<(), ActorError> {
        let stdin = match find(&self.table.lock(), pid)? {
            Found::Running(live) => live.stdin.clone(),
            Found::Ended(_) => return Ok(()),
        };
        let mut stdin = stdin.lock().await;
        if let Stdin::Open(writer) = &mut *stdin {
            if let Writer::Terminal(_) = writer {
                // A terminal that is gone has no input to close.
                let _ = writer.write_all(&[EOF_CHAR]).await;
            }
            *stdin = Stdin::Closed(Closed::ByCaller);
        }
        Ok(())
    }

    /// Changes the terminal's size of a process spawned with `pty`; its foreground job gets
    /// `SIGWINCH`.
    pub fn resize(&self, pid: u32, size: PtySize) -> Result<(), ActorError> {
        let size = size.check()?;
        let rows = self.table.lock();
        let live = match find(&rows, pid)? {
            Found::Running(live) => live,
            Found::Ended(_) => return Err(closed(pid, Closed::Exited)),
        };
        let terminal = live.terminal.as_ref().ok_or_else(|| {
            ActorError::invalid_input(format!(
                "process {pid} does not run on a terminal (spawn it with `pty`)"
            ))
            .with_metadata(serde_json::json!({ "pid": pid }))
        })?;
        terminal
            .resize(size.into())
            .map_err(|e| ActorError::internal(format!("resizing process {pid}'s terminal: {e}")))
    }

    /// Waits for the process to exit, or answers at once if it has.
    pub async fn wait(&self, pid: u32) -> Result<ProcessExit, ActorError> {
        let ending = self.table.wait(pid.into()).ok_or_else(|| unknown(pid))?;
        ending.await.map(|exited| exited.exit)
    }

    /// Sends `signal` (default `SIGTERM`; `SIGKILL`, `KILL`, `9`, … are accepted) to the
    /// process's group: the program and every descendant that stayed in its group. In a
    /// sandbox the program gets the signal itself, and its sandbox ends with it. A process that
    /// already exited is left alone.
    pub fn kill(&self, pid: u32, signal: Option<&str>) -> Result<(), ActorError> {
        let signal = signal.map_or(Ok(Signal::SIGTERM), parse_signal)?;
        let group = match find(&self.table.lock(), pid)? {
            Found::Running(live) => live.group.clone(),
            Found::Ended(_) => return Ok(()),
        };
        group.signal_program(signal);
        Ok(())
    }

    /// Stops the process: `SIGTERM` to its group, then `SIGKILL` to all of it, sandbox
    /// included, if it has not exited after a grace period (2 s). Returns how it ended, at
    /// once for one that already has.
    pub async fn stop(&self, pid: u32) -> Result<ProcessExit, ActorError> {
        let ending = self
            .table
            .stop(pid.into(), Signal::SIGTERM)
            .ok_or_else(|| unknown(pid))?;
        ending.await.map(|exited| exited.exit)
    }

    /// The process, running or exited.
    pub fn get(&self, pid: u32) -> Result<ProcessInfo, ActorError> {
        Ok(match find(&self.table.lock(), pid)? {
            Found::Running(live) => live.info.clone(),
            Found::Ended(exited) => exited.info.clone(),
        })
    }

    /// The processes spawned in this VM, running or among the last 256 exited, by pid.
    pub fn list(&self) -> Vec<ProcessInfo> {
        let rows = self.table.lock();
        let mut all: Vec<ProcessInfo> = (rows.running().map(|live| &live.info))
            .chain(rows.ended().map(|exited| &exited.info))
            .cloned()
            .collect();
        all.sort_by_key(|info| info.pid);
        all
    }

    /// The OS processes running for the spawned processes still running, each after its
    /// parent: see `tree`.
    pub fn all(&self) -> Vec<OsProcess> {
        fn flatten(node: ProcessNode, into: &mut Vec<OsProcess>) {
            into.push(node.process);
            for child in node.children {
                flatten(child, into);
            }
        }
        let mut all = Vec::new();
        for node in self.tree() {
            flatten(node, &mut all);
        }
        all
    }

    /// The OS processes running for the spawned processes still running, as read from the
    /// host's `/proc`: one root per spawned process (its program), its descendants nested
    /// under their parents, oldest first. The sandbox's own processes (bubblewrap and its init)
    /// are skipped; an orphan that the sandbox's init adopted is a root of its own. Without a
    /// sandbox, an orphan is adopted outside the VM and no longer listed.
    pub fn tree(&self) -> Vec<ProcessNode> {
        let spawned: Vec<(u32, u32, usize)> = (self.table.lock().running())
            .map(|live| (live.info.pid, live.group.leader(), live.group.wrappers()))
            .collect();
        if spawned.is_empty() {
            return Vec::new();
        }
        let host = procfs::all();
        let mut children: BTreeMap<u32, Vec<&procfs::Stat>> = BTreeMap::new();
        for stat in host.values() {
            children.entry(stat.ppid).or_default().push(stat);
        }
        for list in children.values_mut() {
            list.sort_by_key(|stat| (stat.start, stat.pid));
        }
        let mut seen = BTreeSet::new();
        let mut roots = Vec::new();
        for (pid, leader, wrappers) in spawned {
            let mut level: Vec<&procfs::Stat> = host.get(&leader).into_iter().collect();
            for _ in 0..wrappers {
                level = (level.iter())
                    .flat_map(|stat| children.get(&stat.pid).into_iter().flatten().copied())
                    .collect();
            }
            roots.extend(
                (level.into_iter()).filter_map(|stat| node(pid, stat, &children, &mut seen)),
            );
        }
        roots
    }
}

/// What the table knows about `pid`.
fn find(rows: &Rows<Live, Exited>, pid: u32) -> Result<Found<'_, Live, Exited>, ActorError> {
    rows.find(pid.into()).ok_or_else(|| unknown(pid))
}

/// The standard input to register, and what writes the `stdin` option: before any other
/// write when streaming, otherwise alone, closing the input after it.
fn feed(writer: Option<Writer>, input: Option<Vec<u8>>, streaming: bool) -> (SharedStdin, Feed) {
    let (stdin, alone) = match writer {
        Some(writer) if streaming => (Stdin::Open(writer), None),
        writer => (Stdin::Closed(Closed::NotStreamed), writer),
    };
    let stdin = Arc::new(tokio::sync::Mutex::new(stdin));
    let Some(input) = input else {
        return (stdin, Box::pin(async {}));
    };
    let feed: Feed = match alone {
        Some(mut writer) => Box::pin(async move {
            // A process that exits without reading its input is not an error.
            let _ = writer.write_all(&input).await;
        }),
        None => {
            let mut guard =
                (stdin.clone().try_lock_owned()).expect("a new standard input is not locked");
            Box::pin(async move {
                if let Stdin::Open(writer) = &mut *guard
                    && writer.write_all(&input).await.is_err()
                {
                    *guard = Stdin::Closed(Closed::ByProcess);
                }
            })
        }
    };
    (stdin, feed)
}

/// Runs `main` to its end while `side` makes progress alongside; `side` is dropped if it has
/// not finished by then (a process that exited will never read the rest of its input).
async fn alongside<T>(main: impl Future<Output = T>, side: impl Future<Output = ()>) -> T {
    tokio::pin!(main);
    tokio::pin!(side);
    tokio::select! {
        out = &mut main => out,
        () = &mut side => main.await,
    }
}

/// The node of `stat` and its descendants, unless a snapshot taken while pids were reused
/// would make it its own ancestor.
fn node(
    pid: u32,
    stat: &procfs::Stat,
    children: &BTreeMap<u32, Vec<&procfs::Stat>>,
    seen: &mut BTreeSet<u32>,
) -> Option<ProcessNode> {
    if !seen.insert(stat.pid) {
        return None;
    }
    let nested = (children.get(&stat.pid).into_iter().flatten())
        .filter_map(|child| node(pid, child, children, seen))
        .collect();
    Some(ProcessNode {
        process: OsProcess {
            pid,
            host_pid: stat.pid,
            parent_host_pid: stat.ppid,
            command: procfs::cmdline(stat.pid),
            name: stat.name.clone(),
            state: OsProcessState::from_code(stat.state),
        },
        children: nested,
    })
}

fn unknown(pid: u32) -> ActorError {
    ActorError::not_found(format!("no process {pid}"))
        .with_metadata(serde_json::json!({ "pid": pid }))
}

fn closed(pid: u32, why: Closed) -> ActorError {
    let message = match why {
        Closed::NotStreamed => format!(
            "process {pid} was spawned without `streamStdin`, so its standard input is closed"
        ),
        Closed::ByCaller => format!("process {pid}'s standard input was closed"),
        Closed::ByProcess => format!("process {pid} no longer reads its standard input"),
        Closed::Exited => format!("process {pid} has exited"),
    };
    ActorError::closed(message).with_metadata(serde_json::json!({ "pid": pid }))
}
