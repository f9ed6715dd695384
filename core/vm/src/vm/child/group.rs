//! The process group of a program the host started for the VM: the only way anything of the
//! VM is signalled or killed, and how its end is read.

use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

use super::procfs;
use super::signal::{signal_name, terminates};

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::vm) struct Ended {
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// Whether a timeout killed it.
    pub timed_out: bool,
}

/// The process group led by the process the host started (bubblewrap, when sandboxed). Its
/// id names the group exactly while the leader is unreaped, so every signal goes through here
/// and none is sent once the leader is about to be reaped.
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
    pub(super) fn signal(&self, signal: Signal) -> bool {
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

    /// Resolves once the leader has exited, leaving it unreaped: until it is reaped its id
    /// cannot name another process group, so what is left of its group can still be killed.
    pub(super) async fn exited(&self) -> std::io::Result<()> {
        let mut sigchld = signal(SignalKind::child())?;
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
        while waitid(Id::Pid(self.leader), flags)? == WaitStatus::StillAlive {
            sigchld
                .recv()
                .await
                .ok_or_else(|| std::io::Error::other("the runtime stopped delivering SIGCHLD"))?;
        }
        Ok(())
    }

    /// Stops all signalling: the leader is about to be reaped and its id to be freed.
    pub(super) fn close(&self) {
        lock(&self.state).open = false;
    }

    /// Reaps `leader` once it has exited, and tells how it ended. Until then the group can
    /// still be signalled, even when the program closed its output long before.
    pub(in crate::vm) async fn reap(
        &self,
        leader: &mut tokio::process::Child,
    ) -> std::io::Result<std::process::ExitStatus> {
        if let Err(err) = self.exited().await {
            tracing::warn!(%err, "could not watch a process for its exit");
        }
        self.close();
        leader.wait().await
    }

    /// How the process ended. A sandbox reports a program that a signal ended as exit code
    /// 128 + the signal's number; when this group sent that signal, the signal is reported.
    pub(in crate::vm) fn ended(&self, status: std::process::ExitStatus, timed_out: bool) -> Ended {
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

fn lock(state: &Mutex<GroupState>) -> MutexGuard<'_, GroupState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
