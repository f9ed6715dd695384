//! The task that runs one shell: it passes output on, signals the shell's process group on
//! request, kills what is left of the group when the shell exits, reaps the shell and drains
//! what it wrote last.

use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a hung-up shell may take to exit before it is killed.
const HANGUP_GRACE: Duration = Duration::from_secs(2);

/// How long output is still read after the shell exits. In a sandbox every process is gone by
/// then and the terminal reports its end at once; without one, a background job that left the
/// shell's process group could otherwise hold the report back forever.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// The largest chunk passed to `on_data`.
const CHUNK: usize = 16 * 1024;

/// What the registry asks of a shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Run,
    /// `SIGHUP`, then `SIGKILL` after `HANGUP_GRACE`.
    Hangup,
    /// `SIGKILL` now.
    Kill,
}

/// How the shell's process ended.
pub(super) struct Ended {
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
}

/// Runs `child`, the session leader `pid` (so its process group shares its id), to its end,
/// passing every chunk of its terminal's output to `on_data`. When it exits, whatever is left
/// of its group is killed: a sandbox that lost its first process before it was fully set up
/// would otherwise live on.
pub(super) async fn run(
    mut child: tokio::process::Child,
    pid: Pid,
    mut output: pty_process::OwnedReadPty,
    mut stop: watch::Receiver<Stop>,
    on_data: impl Fn(&[u8]),
) -> Ended {
    let mut group = Group(Some(pid));
    let mut buf = vec![0u8; CHUNK];
    let mut reading = true;
    let mut kill_at: Option<Instant> = None;
    let exited = leader_exited(pid);
    tokio::pin!(exited);
    loop {
        tokio::select! {
            result = &mut exited => {
                match result {
                    Ok(()) => group.signal(Signal::SIGKILL),
                    Err(err) => tracing::warn!(%err, "could not watch a shell for its exit"),
                }
                break;
            }
            read = output.read(&mut buf), if reading => match read {
                Ok(n @ 1..) => on_data(&buf[..n]),
                // EIO: no process has the terminal open any more.
                _ => reading = false,
            },
            Ok(()) = stop.changed() => match *stop.borrow_and_update() {
                Stop::Run => {}
                Stop::Hangup => {
                    group.signal(Signal::SIGHUP);
                    kill_at = Some(Instant::now() + HANGUP_GRACE);
                }
                Stop::Kill => group.signal(Signal::SIGKILL),
            },
            () = tokio::time::sleep_until(kill_at.unwrap_or_else(Instant::now)), if kill_at.is_some() => {
                group.signal(Signal::SIGKILL);
                kill_at = None;
            }
        }
    }
    let status = child.wait().await;
    group.0 = None;
    if reading {
        let drain = async {
            while let Ok(n @ 1..) = output.read(&mut buf).await {
                on_data(&buf[..n]);
            }
        };
        let _ = tokio::time::timeout(DRAIN_LIMIT, drain).await;
    }
    match status {
        Ok(status) => Ended {
            exit_code: status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&status).map(signal_name),
        },
        Err(err) => {
            tracing::warn!(%err, "could not wait for a shell");
            Ended {
                exit_code: None,
                signal: None,
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

/// The shell's process group while its leader is unreaped, which is exactly while the id
/// names no other group. Killed if the task is dropped first (the runtime shutting down).
struct Group(Option<Pid>);

impl Group {
    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.0 {
            // Fails only if every member has exited, which the reaper will see.
            let _ = killpg(pgid, signal);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

fn signal_name(signo: i32) -> String {
    Signal::try_from(signo).map_or_else(|_| format!("signal {signo}"), |s| s.as_str().to_owned())
}
