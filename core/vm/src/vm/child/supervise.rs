//! The task that sees a spawned process or a shell to its end: it passes output on, signals
//! the process's group on request, kills what is left of the group when the process exits,
//! reaps it and drains what it wrote last.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use nix::sys::signal::Signal;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Ended, Group};

/// How long a process asked to stop may take to exit before it is killed.
pub(in crate::vm) const GRACE: Duration = Duration::from_secs(2);

/// How long output is still read after the process exits. In a sandbox every process is gone
/// by then and the streams end at once; without one, a descendant that left the process group
/// could otherwise hold the report back forever.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

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

/// Kills the group if the supervisor is dropped before it reaped the leader (the runtime
/// shutting down).
struct KillOnDrop(Arc<Group>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill_all();
    }
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
    let exited = group.exited();
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
