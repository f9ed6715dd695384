//! The VM's process table: long-running processes spawned in its sandbox, on pipes or on a
//! terminal. Each gets a VM pid (1, 2, … per VM: every sandbox has a pid namespace of its own,
//! so the table's number is the process's identity), streams its output to a callback, can be
//! fed, signalled, stopped and waited for, and reports its exit once, after its last output.

mod procfs;
pub(super) mod supervise;
#[cfg(test)]
mod tests;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::Stream;
use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::sandbox::Plan;
use super::shell::{ShellSize, Terminal};
use crate::runtime::{ActorError, Bytes};
use supervise::{Group, Stop, chunks};
pub use types::{
    OsProcess, OsProcessState, ProcessExit, ProcessInfo, ProcessNode, ProcessOutput, ProcessStream,
    PtyOptions, SpawnOptions,
};

/// How many exited processes the table keeps for `wait`, `get` and `list`; past it the
/// oldest are forgotten (unknown pids, as if never spawned).
const EXITS_KEPT: usize = 256;

/// The typed-in end-of-file character: closing a terminal's input sends it.
const EOF_CHAR: u8 = 0x04;

/// One VM's spawned processes. Every method takes `&self`; a task per process reads its
/// output, delivers its stop and timeout, and reaps it. Dropping the table kills every
/// process still running, with its whole group.
#[derive(Default)]
pub struct Processes {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// The last VM pid handed out.
    last: u32,
    live: BTreeMap<u32, Live>,
    /// Processes that exited, the oldest dropped first past `EXITS_KEPT`.
    exited: BTreeMap<u32, Exited>,
}

struct Live {
    info: ProcessInfo,
    group: Arc<Group>,
    /// Writers take turns so that concurrent writes do not interleave.
    stdin: SharedStdin,
    /// A handle on the terminal for resizing, for a process on one.
    terminal: Option<pty_process::Pty>,
    stop: watch::Sender<Stop>,
    exit: watch::Receiver<Option<ProcessExit>>,
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

/// A process the host has started, before the table registers it.
struct Started {
    child: tokio::process::Child,
    host_pid: u32,
    output: Output,
    stdin: Option<Writer>,
    terminal: Option<pty_process::Pty>,
}

impl Started {
    /// Starts `plan` on pipes, with standard input piped only if `stdin`.
    fn piped(plan: &Plan, stdin: bool) -> Result<Self, ActorError> {
        use std::process::Stdio;
        let mut child = plan
            .command()
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ActorError::internal(format!("cannot start the process: {e}")))?;
        let host_pid = child.id().ok_or_else(|| {
            ActorError::internal("the process was reaped before it was registered")
        })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let output = futures_util::stream::select(
            chunks(ProcessStream::Stdout, stdout),
            chunks(ProcessStream::Stderr, stderr),
        );
        Ok(Self {
            stdin: child.stdin.take().map(Writer::Pipe),
            child,
            host_pid,
            output: Box::pin(output),
            terminal: None,
        })
    }

    /// Starts `plan` on a new terminal of `size`.
    fn terminal(plan: &Plan, size: ShellSize) -> Result<Self, ActorError> {
        let terminal = Terminal::start(plan, size.check()?)?;
        Ok(Self {
            child: terminal.child,
            host_pid: terminal.pid,
            output: Box::pin(chunks(ProcessStream::Stdout, terminal.output)),
            stdin: Some(Writer::Terminal(terminal.input)),
            terminal: Some(terminal.control),
        })
    }
}

impl Processes {
    /// Starts `plan`, built with `terminal` set exactly when `options.pty` is, as the VM's next
    /// process. `command` is the argv as the VM sees it (the plan's program is the sandbox).
    /// `on_output` gets every chunk of output; `on_exit` is called once, after the last chunk.
    /// Must be called within a tokio runtime.
    pub fn spawn(
        &self,
        plan: Plan,
        command: Vec<String>,
        options: &SpawnOptions,
        on_output: impl Fn(ProcessOutput) + Send + Sync + 'static,
        on_exit: impl Fn(ProcessExit) + Send + Sync + 'static,
    ) -> Result<ProcessInfo, ActorError> {
        let input = options.stdin.as_ref().map(|c| c.as_bytes().to_vec());
        let streaming = options.streams_stdin();
        let started = match options.pty {
            Some(pty) => Started::terminal(&plan, pty.size())?,
            None => Started::piped(&plan, streaming || input.is_some())?,
        };
        let Started {
            child,
            host_pid,
            output,
            stdin,
            terminal,
        } = started;
        let group = Group::new(host_pid, plan.wrappers);
        let (stdin, feed) = feed(stdin, input, streaming);
        let (stop_tx, stop_rx) = watch::channel(Stop::Run);
        let (exit_tx, exit_rx) = watch::channel(None);
        let info = {
            let mut state = lock(&self.state);
            let Some(pid) = state.last.checked_add(1) else {
                group.kill_all();
                return Err(ActorError::limit_exceeded(
                    "this VM has spawned 2^32-1 processes, all its pids",
                ));
            };
            state.last = pid;
            let info = ProcessInfo {
                pid,
                command,
                pty: terminal.is_some(),
                host_pid,
                running: true,
                exit_code: None,
                signal: None,
            };
            state.live.insert(
                pid,
                Live {
                    info: info.clone(),
                    group: group.clone(),
                    stdin,
                    terminal,
                    stop: stop_tx,
                    exit: exit_rx,
                },
            );
            info
        };
        let pid = info.pid;
        let timeout = options
            .timeout
            .map(|ms| Duration::from_millis(u64::from(ms)));
        let state = self.state.clone();
        tokio::spawn(async move {
            let run = supervise::run(child, group, output, stop_rx, timeout, |stream, data| {
                on_output(ProcessOutput {
                    pid,
                    stream,
                    data: Bytes(data),
                });
            });
            let ended = alongside(run, feed).await;
            let exit = ProcessExit {
                pid,
                exit_code: ended.exit_code,
                signal: ended.signal,
                timed_out: ended.timed_out,
            };
            on_exit(exit.clone());
            lock(&state).retire(exit.clone());
            exit_tx.send_replace(Some(exit));
        });
        Ok(info)
    }

    /// Writes `data` to the process's standard input (types it, on a terminal). Waits while
    /// the pipe is full, that is until the process reads. Fails with `closed` when the input
    /// was not streamed, was closed, or the process has stopped reading or exited.
    pub async fn write_stdin(&self, pid: u32, data: &[u8]) -> Result<(), ActorError> {
        let stdin = match lock(&self.state).find(pid)? {
            Found::Live(live) => live.stdin.clone(),
            Found::Exited(_) => return Err(closed(pid, Closed::Exited)),
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
        let stdin = match lock(&self.state).find(pid)? {
            Found::Live(live) => live.stdin.clone(),
            Found::Exited(_) => return Ok(()),
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
    pub fn resize(&self, pid: u32, size: ShellSize) -> Result<(), ActorError> {
        let size = size.check()?;
        let state = lock(&self.state);
        let live = match state.find(pid)? {
            Found::Live(live) => live,
            Found::Exited(_) => return Err(closed(pid, Closed::Exited)),
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
        let exit = match lock(&self.state).find(pid)? {
            Found::Live(live) => live.exit.clone(),
            Found::Exited(exited) => return Ok(exited.exit.clone()),
        };
        exited(exit).await
    }

    /// Sends `signal` (default `SIGTERM`; `SIGKILL`, `KILL`, `9`, … are accepted) to the
    /// process's group: the program and every descendant that stayed in its group. In a
    /// sandbox the program gets the signal itself, and its sandbox ends with it. A process that
    /// already exited is left alone.
    pub fn kill(&self, pid: u32, signal: Option<&str>) -> Result<(), ActorError> {
        let signal = signal.map_or(Ok(Signal::SIGTERM), supervise::parse_signal)?;
        let group = match lock(&self.state).find(pid)? {
            Found::Live(live) => live.group.clone(),
            Found::Exited(_) => return Ok(()),
        };
        group.signal_program(signal);
        Ok(())
    }

    /// Stops the process: `SIGTERM` to its group, then `SIGKILL` to all of it, sandbox
    /// included, if it has not exited after a grace period (2 s). Returns how it ended, at
    /// once for one that already has.
    pub async fn stop(&self, pid: u32) -> Result<ProcessExit, ActorError> {
        let exit = match lock(&self.state).find(pid)? {
            Found::Exited(exited) => return Ok(exited.exit.clone()),
            Found::Live(live) => {
                live.stop.send_if_modified(|stop| {
                    let run = *stop == Stop::Run;
                    if run {
                        *stop = Stop::Ask(Signal::SIGTERM);
                    }
                    run
                });
                live.exit.clone()
            }
        };
        exited(exit).await
    }

    /// The process, running or exited.
    pub fn get(&self, pid: u32) -> Result<ProcessInfo, ActorError> {
        Ok(match lock(&self.state).find(pid)? {
            Found::Live(live) => live.info.clone(),
            Found::Exited(exited) => exited.info.clone(),
        })
    }

    /// The processes spawned in this VM, running or among the last 256 exited, by pid.
    pub fn list(&self) -> Vec<ProcessInfo> {
        let state = lock(&self.state);
        let mut all: Vec<ProcessInfo> = (state.live.values().map(|live| &live.info))
            .chain(state.exited.values().map(|exited| &exited.info))
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
        let spawned: Vec<(u32, u32, usize)> = lock(&self.state)
            .live
            .values()
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

impl Drop for Processes {
    fn drop(&mut self) {
        for live in lock(&self.state).live.values() {
            live.stop.send_replace(Stop::Kill);
        }
    }
}

/// What the table knows about a pid.
enum Found<'a> {
    Live(&'a Live),
    Exited(&'a Exited),
}

impl State {
    fn find(&self, pid: u32) -> Result<Found<'_>, ActorError> {
        if let Some(live) = self.live.get(&pid) {
            return Ok(Found::Live(live));
        }
        self.exited
            .get(&pid)
            .map(Found::Exited)
            .ok_or_else(|| unknown(pid))
    }

    /// Moves an exited process to the exited list.
    fn retire(&mut self, exit: ProcessExit) {
        let Some(live) = self.live.remove(&exit.pid) else {
            return;
        };
        let info = ProcessInfo {
            running: false,
            exit_code: exit.exit_code,
            signal: exit.signal.clone(),
            ..live.info
        };
        remember(&mut self.exited, Exited { info, exit });
    }
}

/// Adds `exited`, forgetting the oldest past `EXITS_KEPT`.
fn remember(list: &mut BTreeMap<u32, Exited>, exited: Exited) {
    list.insert(exited.info.pid, exited);
    while list.len() > EXITS_KEPT {
        list.pop_first();
    }
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

async fn exited(mut exit: watch::Receiver<Option<ProcessExit>>) -> Result<ProcessExit, ActorError> {
    exit.wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|exit| exit.clone())
        .ok_or_else(|| ActorError::internal("the process's task ended without reporting its exit"))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
