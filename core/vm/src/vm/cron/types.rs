//! What crosses the wire for cron: a job's definition, its listing, and its events. Instants
//! are RFC 3339 strings in UTC with milliseconds, the form `new Date(…)` reads.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use ts_rs::TS;

use crate::vm::exec::ExecOptions;
use crate::vm::session::SessionOptions;

/// A job for `scheduleCron`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct CronJobOptions {
    /// The job's id; a random one when absent. Scheduling an id that exists replaces that job.
    pub id: Option<String>,
    /// A cron expression of 5 fields (minute precision) or 6 (seconds first), or an ISO 8601
    /// timestamp with an offset for a job that runs once.
    pub schedule: String,
    /// What the job does when it fires.
    pub action: CronAction,
    /// What to do when the job is due while an earlier run is still going (default `allow`).
    pub overlap: Option<Overlap>,
    /// The IANA time zone the expression is read in, e.g. `Europe/Paris` (default UTC).
    pub timezone: Option<String>,
}

/// What a job does: nothing here is a closure, so a job survives a restart. A client that
/// wants a callback schedules an `event` and subscribes to `scheduledEvent`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[ts(optional_fields)]
pub enum CronAction {
    /// Runs `command` through `/bin/sh -c`, or, with `args`, `command` itself with those
    /// arguments; as `exec` / `execArgv`. The run's result is the `ExecResult`.
    Exec {
        command: String,
        args: Option<Vec<String>>,
        options: Option<ExecOptions>,
    },
    /// Opens a session with `agentType`, sends `prompt`, and closes the session; the run's
    /// result is the `PromptResult`.
    Session {
        agent_type: String,
        prompt: String,
        options: Option<SessionOptions>,
    },
    /// Raises `scheduledEvent` with this name and payload.
    Event { name: String, payload: Option<Json> },
}

/// The overlap policy of a job whose run outlasts its interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Overlap {
    /// Start another run alongside.
    #[default]
    Allow,
    /// Drop this firing (a `skip` event says so).
    Skip,
    /// Run it once the earlier runs have finished, in order.
    Queue,
}

/// `scheduleCron`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledJob {
    pub id: String,
}

/// A job as `listCronJobs` reports it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CronJobInfo {
    pub id: String,
    pub schedule: String,
    pub action: CronAction,
    pub overlap: Overlap,
    /// The time zone the expression is read in.
    pub timezone: String,
    /// When the last run started, if any.
    pub last_run: Option<String>,
    /// When the job fires next; absent for a one-shot job that has fired.
    pub next_run: Option<String>,
    /// Runs started so far, across restarts.
    pub run_count: u32,
    /// Runs in progress.
    pub running: u32,
    /// Firings waiting for a run in progress (overlap `queue`).
    pub queued: u32,
}

/// What happened to a job: it fired (a run started), a run completed or failed, or a
/// firing was skipped because of the overlap policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CronEventKind {
    Fire,
    Complete,
    Error,
    Skip,
}

/// The payload of `cronEvent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CronEvent {
    pub job_id: String,
    pub kind: CronEventKind,
    /// The run, numbered from 1 across restarts; absent for `skip`.
    pub run: Option<u32>,
    /// The instant the job was due.
    pub scheduled_at: String,
    /// The action's result, on `complete`.
    pub result: Option<Json>,
    /// Why the run failed, on `error`.
    pub error: Option<String>,
}

/// The payload of `scheduledEvent`, raised by a job's `event` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledEvent {
    pub job_id: String,
    pub name: String,
    pub payload: Option<Json>,
}
