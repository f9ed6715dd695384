//! Terminals an agent starts (ACP `terminal/*`): commands of the VM, run in its sandbox like
//! any process, their stdout and stderr kept (the newest `outputByteLimit` bytes) until the
//! agent releases them. A session's terminals are killed when it ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::sync::watch;

use super::lock;
use super::types::AgentExit;
use crate::runtime::ActorError;
use crate::vm::child::{Group, Launcher, Started, chunks};

pub struct Terminals {
    launcher: Launcher,
    /// Where commands run unless the agent says otherwise: the session's directory.
    cwd: String,
    last: AtomicU32,
    live: Mutex<HashMap<String, Arc<Terminal>>>,
}

struct Terminal {
    group: Arc<Group>,
    output: Mutex<Output>,
    exit: watch::Receiver<Option<AgentExit>>,
}

struct Output {
    bytes: Vec<u8>,
    limit: Option<usize>,
    truncated: bool,
}

impl Output {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if let Some(limit) = self.limit
            && self.bytes.len() > limit
        {
            self.bytes.drain(..self.bytes.len() - limit);
            self.truncated = true;
        }
    }
}

/// What `terminal/output` reports.
pub struct Snapshot {
    pub output: String,
    pub truncated: bool,
    pub exit: Option<AgentExit>,
}

impl Terminals {
    pub fn new(launcher: Launcher, cwd: String) -> Self {
        Self {
            launcher,
            cwd,
            last: AtomicU32::new(0),
            live: Mutex::default(),
        }
    }

    /// Starts `argv` and returns the terminal's id.
    pub fn create(
        &self,
        argv: &[String],
        cwd: Option<&str>,
        env: &BTreeMap<String, String>,
        limit: Option<usize>,
    ) -> Result<String, ActorError> {
        let cwd = Some(cwd.unwrap_or(&self.cwd));
        let plan = self.launcher.plan(argv, cwd, env, &[], false)?;
        let Started {
            mut process,
            pid,
            io,
        } = Started::piped(&plan, false)?;
        let (exit_tx, exit) = watch::channel(None);
        let terminal = Arc::new(Terminal {
            group: Group::new(pid, plan.wrappers),
            output: Mutex::new(Output {
                bytes: Vec::new(),
                limit,
                truncated: false,
            }),
            exit,
        });
        let collecting = terminal.clone();
        tokio::spawn(async move {
            let output = futures_util::stream::select(chunks((), io.stdout), chunks((), io.stderr));
            let mut output = std::pin::pin!(output);
            while let Some(((), chunk)) = output.next().await {
                lock(&collecting.output).push(&chunk);
            }
            let status = collecting.group.reap(&mut process).await.ok();
            exit_tx.send_replace(Some(AgentExit::from_status(status)));
        });
        let id = format!("term{}", self.last.fetch_add(1, Ordering::SeqCst) + 1);
        lock(&self.live).insert(id.clone(), terminal);
        Ok(id)
    }

    pub fn output(&self, id: &str) -> Result<Snapshot, ActorError> {
        let terminal = self.get(id)?;
        let output = lock(&terminal.output);
        Ok(Snapshot {
            output: String::from_utf8_lossy(&output.bytes).into_owned(),
            truncated: output.truncated,
            exit: terminal.exit.borrow().clone(),
        })
    }

    /// Waits for the terminal's command to exit.
    pub fn exit(&self, id: &str) -> Result<impl Future<Output = AgentExit> + use<>, ActorError> {
        let mut exit = self.get(id)?.exit.clone();
        Ok(async move {
            match exit.wait_for(Option::is_some).await {
                Ok(exit) => exit.clone().unwrap_or_default(),
                Err(_) => AgentExit::default(),
            }
        })
    }

    /// Kills the command (its whole process group); the terminal stays until released.
    pub fn kill(&self, id: &str) -> Result<(), ActorError> {
        self.get(id)?.group.kill_all();
        Ok(())
    }

    /// Kills the command if it still runs and forgets the terminal.
    pub fn release(&self, id: &str) -> Result<(), ActorError> {
        let terminal = lock(&self.live).remove(id).ok_or_else(|| unknown(id))?;
        terminal.group.kill_all();
        Ok(())
    }

    /// Kills and forgets every terminal.
    pub fn release_all(&self) {
        for terminal in lock(&self.live).drain().map(|(_, t)| t) {
            terminal.group.kill_all();
        }
    }

    fn get(&self, id: &str) -> Result<Arc<Terminal>, ActorError> {
        lock(&self.live).get(id).cloned().ok_or_else(|| unknown(id))
    }
}

impl Drop for Terminals {
    fn drop(&mut self) {
        self.release_all();
    }
}

fn unknown(id: &str) -> ActorError {
    ActorError::not_found(format!("no terminal {id}"))
}
