//! One-shot processes: `exec` (through `/bin/sh -c`) and `execArgv` (no shell), and cron's
//! exec jobs. Output streams to callbacks as it arrives and is kept, up to a cap, for the
//! result; a timeout kills the process's whole group — grandchildren holding its pipes
//! included — and still returns.

mod answer;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWriteExt};
use ts_rs::TS;

use super::child::{Group, Launcher, Started, chunks};
use super::fs::FileContent;
use super::sandbox::Plan;
use crate::runtime::ActorError;

/// How long the pipes may stay open after a timeout's kill.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// Output kept in the result by default, per stream.
pub const DEFAULT_MAX_OUTPUT: usize = 1 << 20;

/// Options of `exec` and `execArgv`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ExecOptions {
    /// Environment variables, added to a minimal `PATH` and `HOME`.
    pub env: Option<BTreeMap<String, String>>,
    /// Working directory, a VM path (default `/`).
    pub cwd: Option<String>,
    /// Written to the process's standard input, which is then closed.
    pub stdin: Option<FileContent>,
    /// Milliseconds before the process and all its descendants are killed.
    pub timeout: Option<u32>,
    /// Bytes of each stream kept in the result (default 1 MiB, and at most half of what one
    /// message may carry, so that the result always fits); callbacks get everything.
    pub max_output_bytes: Option<u32>,
}

/// How a process ended and what it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExecResult {
    /// The exit code, absent when a signal ended the process.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, e.g. `SIGKILL`.
    pub signal: Option<String>,
    /// Whether the timeout ended it.
    pub timed_out: bool,
    /// Standard output as UTF-8 (invalid sequences replaced), up to `maxOutputBytes`.
    pub stdout: String,
    /// Standard error, likewise.
    pub stderr: String,
    /// Whether stdout was longer than `maxOutputBytes`.
    pub stdout_truncated: bool,
    /// Whether stderr was longer than `maxOutputBytes`.
    pub stderr_truncated: bool,
}

/// The argv that runs `command` through `/bin/sh -c`.
pub(crate) fn through_shell(command: String) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), command]
}

/// Runs the VM's one-shot processes: in its sandbox, over its filesystem as it is now, each
/// result made to fit in one answer. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Exec {
    launcher: Launcher,
    /// The largest answer an action may give (`VmConfig::answer_limit`).
    answer_limit: u64,
}

impl Exec {
    pub(crate) fn new(launcher: Launcher, answer_limit: u64) -> Self {
        Self {
            launcher,
            answer_limit,
        }
    }

    /// Runs `argv` to completion in the sandbox. Each stream is kept up to what fits in the
    /// answer, and a run whose process the kernel killed for the VM's memory limit fails with
    /// `limit_exceeded`.
    pub(crate) async fn run(
        &self,
        argv: &[String],
        mut options: ExecOptions,
        on_stdout: impl Fn(&[u8]) + Send + Sync,
        on_stderr: impl Fn(&[u8]) + Send + Sync,
    ) -> Result<ExecResult, ActorError> {
        options.max_output_bytes = Some(answer::kept_per_stream(
            options.max_output_bytes,
            self.answer_limit,
        ));
        let env = options.env.clone().unwrap_or_default();
        let plan = self
            .launcher
            .plan(argv, options.cwd.as_deref(), &env, &[], false)?;
        let sandbox = self.launcher.sandbox();
        let oom_kills = sandbox.oom_kills();
        let mut result = run(&plan, &options, on_stdout, on_stderr).await?;
        answer::fit(&mut result, self.answer_limit);
        // Killed by SIGKILL, itself or (a shell's 137) its child, while the VM's count of
        // processes killed for memory went up.
        let killed = result.signal.as_deref() == Some("SIGKILL") || result.exit_code == Some(137);
        if killed && sandbox.oom_kills() > oom_kills {
            let limits = sandbox.info().limits.unwrap_or_default();
            return Err(ActorError::limit_exceeded(format!(
                "the VM's processes went over its memory limit ({} MiB) and the kernel killed one",
                limits.memory_max_mib
            ))
            .with_metadata(serde_json::json!({
                "limit": "memory",
                "memoryMaxMib": limits.memory_max_mib,
                "result": result,
            })));
        }
        Ok(result)
    }
}

/// Runs `plan`, made for pipes, to completion.
pub(in crate::vm) async fn run(
    plan: &Plan,
    options: &ExecOptions,
    on_stdout: impl Fn(&[u8]) + Send + Sync,
    on_stderr: impl Fn(&[u8]) + Send + Sync,
) -> Result<ExecResult, ActorError> {
    let cap = options
        .max_output_bytes
        .map_or(DEFAULT_MAX_OUTPUT, |n| n as usize);
    let Started {
        mut process,
        pid,
        io,
    } = Started::piped(plan, true)?;
    let group = Group::new(pid, plan.wrappers);
    let stdin = io.stdin.expect("stdin is piped");
    let input = options.stdin.as_ref().map(|c| c.as_bytes().to_vec());
    let feed = async move {
        let mut stdin = stdin;
        if let Some(bytes) = input {
            // A process that exits without reading its input is not an error.
            let _ = stdin.write_all(&bytes).await;
        }
    };
    let work = async {
        let (_, out, err) = tokio::join!(
            feed,
            collect(io.stdout, cap, &on_stdout),
            collect(io.stderr, cap, &on_stderr)
        );
        let status = group.reap(&mut process).await;
        (out, err, status)
    };
    let limit = options
        .timeout
        .map(|ms| Duration::from_millis(u64::from(ms)));
    let (timed_out, (out, err, status)) = match limit {
        None => (false, work.await),
        Some(limit) => {
            tokio::pin!(work);
            match tokio::time::timeout(limit, &mut work).await {
                Ok(done) => (false, done),
                Err(_) => {
                    group.kill_all();
                    // Only a descendant that left the group can keep the pipes open now.
                    let done = tokio::time::timeout(KILL_GRACE, work).await.map_err(|_| {
                        ActorError::timeout(format!(
                            "the process was killed after {} ms, but a descendant that left its process group still holds its output",
                            limit.as_millis()
                        ))
                    })?;
                    (true, done)
                }
            }
        }
    };
    let status =
        status.map_err(|e| ActorError::internal(format!("waiting for the process: {e}")))?;
    let ended = group.ended(status, timed_out);
    Ok(ExecResult {
        exit_code: ended.exit_code,
        signal: ended.signal,
        timed_out,
        stdout: String::from_utf8_lossy(&out.kept).into_owned(),
        stderr: String::from_utf8_lossy(&err.kept).into_owned(),
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
    })
}

struct Collected {
    kept: Vec<u8>,
    truncated: bool,
}

/// Reads a stream to its end, passing every chunk on and keeping the first `cap` bytes.
async fn collect(
    stream: impl AsyncRead + Unpin,
    cap: usize,
    on_chunk: &(impl Fn(&[u8]) + Sync),
) -> Collected {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut stream = std::pin::pin!(chunks((), stream));
    while let Some(((), chunk)) = stream.next().await {
        on_chunk(&chunk);
        let room = cap.saturating_sub(kept.len());
        truncated |= chunk.len() > room;
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Collected { kept, truncated }
}
