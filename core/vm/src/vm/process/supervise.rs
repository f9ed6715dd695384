//! The task that runs one process, shared by spawned processes and shells: it passes output
//! on, signals the process's group on request, kills what is left of the group when the
//! process exits, reaps it and drains what it wrote last. Also the signal names both use.

use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::Instant;

use super::procfs;
use crate::runtime::ActorError;

/// How long a process asked to stop may take to exit before it is killed.
pub(in crate::vm) const GRACE: Duration = Duration::from_secs(2);

/// How long output is still read after the process exits. In a sandbox every process is gone
/// by then and the streams end at once; without one, a descendant that left the process group
/// could otherwise hold the report back forever.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// The largest chunk of output passed on.
const CHUNK: usize = 16 * 1024;

/// What the owner asks of a supervised process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::vm) enum Stop {
    Run,
    /// The signal to the program's group now (`Group::signal_program`), everything killed
    /// after `GRACE`.
    Ask(Signal),
    /// Everything killed now (`Group::kill_all`).
    Kill,
}

/// How a supervised process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::vm) struct Ended {
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// Whether the timeout killed it.
    pub timed_out: bool,
}

/// The process group of a supervised process, led by the process the host started
/// (bubblewrap, when sandboxed). Its id names the group exactly while the leader is unreaped,
/// so every signal goes through here and none is sent once the supervisor is about to reap.
pub(in crate::vm) struct Group {
    leader: Pid,
    /// Processes between the leader and the program (`Plan::wrappers`).
    wrappers: usize,
    state: Mutex<GroupState>,
}

struct GroupState {
    /// False once the leader is about to be reaped.
    open: bool,
    /// Bit `n`: signal `n` was sent to the program.
    sent: u64,
    /// The signal that ended the sandbox before its program started.
    early: Option<Signal>,
}

impl Group {
    pub(in crate::vm) fn new(leader: u32, wrappers: usize) -> Arc<Self> {
        Arc::new(Self {
            leader: Pid::from_raw(leader as i32),
            wrappers,
            state: Mutex::new(GroupState {
                open: true,
                sent: 0,
                early: None,
            }),
        })
    }

    /// The host pid of the process the host started.
    pub(in crate::vm) fn leader(&self) -> u32 {
        self.leader.as_raw() as u32
    }

    /// Processes between the leader and the program.
    pub(in crate::vm) fn wrappers(&self) -> usize {
        self.wrappers
    }

    /// Signals the whole group, wrappers included. False once the leader has exited.
    pub(in crate::vm) fn signal(&self, signal: Signal) -> bool {
        let state = lock(&self.state);
        // Fails only if every member has exited, which the reaper will see.
        state.open && killpg(self.leader, signal).is_ok()
    }

    /// Kills everything: the wrappers' first process directly, then the whole group. The
    /// sandbox's first process leaves the group (`--new-session`) before it arranges to die
    /// with bubblewrap, so killing the group alone could orphan a sandbox still starting.
    pub(in crate::vm) fn kill_all(&self) -> bool {
        let mut state = lock(&self.state);
        self.kill_all_locked(&mut state)
    }

    fn kill_all_locked(&self, state: &mut GroupState) -> bool {
        if !state.open {
            return false;
        }
        // bubblewrap may see its child killed and exit with 128 + 9 before it is killed too.
        state.sent |= 1 << (Signal::SIGKILL as i32);
        if self.wrappers > 0 {
            for first in procfs::children(self.leader()) {
                // The leader has not reaped it (it is alive) or is reaping it just now, which
                // leaves its id unused for far longer than this takes.
                let _ = kill(Pid::from_raw(first.pid as i32), Signal::SIGKILL);
            }
        }
        killpg(self.leader, Signal::SIGKILL).is_ok()
    }

    /// Signals the program's process group: that of the process `wrappers` levels under the
    /// leader, so that the program itself can handle the signal (bubblewrap would die of it
    /// and take the sandbox down unannounced). While a sandbox is still starting, a signal
    /// whose default is to terminate ends it (and is reported as what ended it); any other
    /// has nobody to reach yet. False once the leader has exited.
    pub(in crate::vm) fn signal_program(&self, signal: Signal) -> bool {
        let mut state = lock(&self.state);
        if !state.open {
            return false;
        }
        let program = procfs::descendant(self.leader(), self.wrappers).and_then(procfs::Stat::read);
        match program {
            Some(program) => {
                state.sent |= 1 << (signal as i32);
                killpg(Pid::from_raw(program.pgrp as i32), signal).is_ok()
            }
            None if self.wrappers == 0 => killpg(self.leader, signal).is_ok(),
            None if terminates(signal) => {
                state.early.get_or_insert(signal);
                self.kill_all_locked(&mut state)
            }
            None => false,
        }
    }

    /// Stops all signalling: the leader is about to be reaped and its id to be freed.
    fn close(&self) {
        lock(&self.state).open = false;
    }

    /// How the process ended. A sandbox reports a program that a signal ended as exit code
    /// 128 + the signal's number; when this group sent that signal, the signal is reported.
    fn ended(&self, status: std::process::ExitStatus, timed_out: bool) -> Ended {
        let (sent, early) = {
            let state = lock(&self.state);
            (state.sent, state.early)
        };
        let early = early
            .filter(|_| status.signal() == Some(Signal::SIGKILL as i32))
            .map(|signal| signal as i32);
        let translated = status
            .code()
            .filter(|_| self.wrappers > 0)
            .and_then(|code| code.checked_sub(128))
            .filter(|signo| (1..64).contains(signo) && sent & (1 << signo) != 0)
            .or(early);
        match translated {
            Some(signo) => Ended {
                exit_code: None,
                signal: Some(signal_name(signo)),
                timed_out,
            },
            None => Ended {
                exit_code: status.code(),
                signal: status.signal().map(signal_name),
                timed_out,
            },
        }
    }
}

/// Kills the group if the supervisor is dropped before it reaped the leader (the runtime
/// shutting down).
struct KillOnDrop(Arc<Group>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill_all();
    }
}

/// Whether a signal's default action ends a process (rather than being ignored or stopping it).
fn terminates(signal: Signal) -> bool {
    use Signal::*;
    !matches!(
        signal,
        SIGCHLD | SIGCONT | SIGURG | SIGWINCH | SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU
    )
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

/// Runs `child`, the leader of `group`, to its end, passing every chunk of `output` to
/// `on_data`, acting on `stop` and killing the group when `timeout` passes. When the leader
/// exits, whatever is left of its group is killed: a sandbox that lost its first process
/// before it was fully set up would otherwise live on.
pub(in crate::vm) async fn run<T>(
    mut child: tokio::process::Child,
    group: Arc<Group>,
    output: impl Stream<Item = (T, Vec<u8>)>,
    mut stop: watch::Receiver<Stop>,
    timeout: Option<Duration>,
    on_data: impl Fn(T, Vec<u8>),
) -> Ended {
    let _guard = KillOnDrop(group.clone());
    let mut output = std::pin::pin!(output);
    let mut reading = true;
    let mut kill_at: Option<Instant> = None;
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let mut timed_out = false;
    let exited = leader_exited(group.leader);
    tokio::pin!(exited);
    loop {
        tokio::select! {
            result = &mut exited => {
                match result {
                    Ok(()) => group.signal(Signal::SIGKILL),
                    Err(err) => {
                        tracing::warn!(%err, "could not watch a process for its exit");
                        false
                    }
                };
                break;
            }
            chunk = output.next(), if reading => match chunk {
                Some((tag, data)) => on_data(tag, data),
                None => reading = false,
            },
            Ok(()) = stop.changed() => match *stop.borrow_and_update() {
                Stop::Run => {}
                Stop::Ask(signal) => {
                    group.signal_program(signal);
                    let at = Instant::now() + GRACE;
                    kill_at = Some(kill_at.map_or(at, |earlier| earlier.min(at)));
                }
                Stop::Kill => {
                    group.kill_all();
                }
            },
            () = tokio::time::sleep_until(kill_at.unwrap_or_else(Instant::now)), if kill_at.is_some() => {
                group.kill_all();
                kill_at = None;
            }
            () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() && !timed_out => {
                group.kill_all();
                timed_out = true;
            }
        }
    }
    group.close();
    let status = child.wait().await;
    if reading {
        let drain = async {
            while let Some((tag, data)) = output.next().await {
                on_data(tag, data);
            }
        };
        let _ = tokio::time::timeout(DRAIN_LIMIT, drain).await;
    }
    match status {
        Ok(status) => group.ended(status, timed_out),
        Err(err) => {
            tracing::warn!(%err, "could not wait for a process");
            Ended {
                exit_code: None,
                signal: None,
                timed_out,
            }
        }
    }
}

/// Resolves once the child `pid` has exited, leaving it unreaped: until it is reaped its id
/// cannot name another process group, so what is left of its group can still be killed.
async fn leader_exited(pid: Pid) -> std::io::Result<()> {
    let mut sigchld = signal(SignalKind::child())?;
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
    while waitid(Id::Pid(pid), flags)? == WaitStatus::StillAlive {
        sigchld
            .recv()
            .await
            .ok_or_else(|| std::io::Error::other("the runtime stopped delivering SIGCHLD"))?;
    }
    Ok(())
}

/// A signal's name, e.g. `SIGKILL`, or `signal 34` for one without a name.
pub(in crate::vm) fn signal_name(signo: i32) -> String {
    Signal::try_from(signo).map_or_else(|_| format!("signal {signo}"), |s| s.as_str().to_owned())
}

/// A signal named as `SIGTERM`, `TERM` (any case) or by its number, e.g. `15`.
pub(in crate::vm) fn parse_signal(name: &str) -> Result<Signal, ActorError> {
    let trimmed = name.trim();
    let parsed = match trimmed.parse::<i32>() {
        Ok(number) => Signal::try_from(number).ok(),
        Err(_) => {
            let upper = trimmed.to_ascii_uppercase();
            let full = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            full.parse().ok()
        }
    };
    parsed.ok_or_else(|| {
        let valid: Vec<&str> = Signal::iterator().map(Signal::as_str).collect();
        ActorError::invalid_input(format!(
            "unknown signal {name:?}; use one of {} (with or without `SIG`), or its number",
            valid.join(", ")
        ))
        .with_metadata(serde_json::json!({ "signal": name, "valid": valid }))
    })
}

fn lock(state: &Mutex<GroupState>) -> MutexGuard<'_, GroupState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
