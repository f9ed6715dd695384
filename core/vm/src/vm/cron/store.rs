//! Cron jobs on disk, so a host that restarts schedules them again: each job's definition
//! as JSON, its run count, when it last ran and when it is due next (a job that fell due
//! while the host was down is then still due).

use chrono::{DateTime, Utc};

use super::types::CronJobOptions;
use crate::runtime::{ActorError, params};
use crate::vm::store::{Store, columns};

pub struct JobStore {
    store: Store,
    /// The VM whose jobs these are.
    vm: String,
}

/// A job as it was saved.
pub struct SavedJob {
    pub options: CronJobOptions,
    pub run_count: u32,
    pub last_run: Option<String>,
    pub next_run: Option<DateTime<Utc>>,
}

impl JobStore {
    pub fn new(store: Store, vm: String) -> Self {
        Self { store, vm }
    }

    /// Saves a new job, or replaces the one with its id (its count starts again).
    pub fn save(
        &self,
        id: &str,
        options: &CronJobOptions,
        next_run: Option<DateTime<Utc>>,
    ) -> Result<(), ActorError> {
        let json = serde_json::to_string(options)
            .map_err(|e| ActorError::internal(format!("a cron job did not encode: {e}")))?;
        self.store
            .execute(
                "INSERT OR REPLACE INTO cron_jobs (vm, id, job_json, run_count, last_run, next_run)
                 VALUES (?1, ?2, ?3, 0, NULL, ?4)",
                params![&self.vm, id, json, next_run.map(|at| at.to_rfc3339())],
            )
            .map(drop)
    }

    pub fn record_run(&self, id: &str, run_count: u32, at: &str) -> Result<(), ActorError> {
        self.store
            .execute(
                "UPDATE cron_jobs SET run_count = ?3, last_run = ?4 WHERE vm = ?1 AND id = ?2",
                params![&self.vm, id, run_count, at],
            )
            .map(drop)
    }

    pub fn record_next(&self, id: &str, next_run: Option<DateTime<Utc>>) -> Result<(), ActorError> {
        self.store
            .execute(
                "UPDATE cron_jobs SET next_run = ?3 WHERE vm = ?1 AND id = ?2",
                params![&self.vm, id, next_run.map(|at| at.to_rfc3339())],
            )
            .map(drop)
    }

    pub fn delete(&self, id: &str) -> Result<(), ActorError> {
        self.store
            .execute(
                "DELETE FROM cron_jobs WHERE vm = ?1 AND id = ?2",
                params![&self.vm, id],
            )
            .map(drop)
    }

    /// Every saved job of this VM, by id.
    pub fn load(&self) -> Result<Vec<SavedJob>, ActorError> {
        let rows = self.store.query(
            "SELECT job_json, run_count, last_run, next_run FROM cron_jobs WHERE vm = ?1
             ORDER BY id",
            params![&self.vm],
        )?;
        rows.into_iter()
            .map(|row| {
                let [json, run_count, last_run, next_run] = columns(row)?;
                let next_run = next_run
                    .optional_text()?
                    .map(|at| DateTime::parse_from_rfc3339(&at).map(|at| at.with_timezone(&Utc)))
                    .transpose()
                    .map_err(|e| ActorError::internal(format!("a stored cron instant: {e}")))?;
                Ok(SavedJob {
                    next_run,
                    options: serde_json::from_str(&json.text()?)
                        .map_err(|e| ActorError::internal(format!("a stored cron job: {e}")))?,
                    run_count: u32::try_from(run_count.integer()?).unwrap_or(u32::MAX),
                    last_run: last_run.optional_text()?,
                })
            })
            .collect()
    }
}
