//! Cron jobs on disk, so a host that restarts schedules them again: each job's definition
//! as JSON, its run count, when it last ran and when it is due next (a job that fell due
//! while the host was down is then still due).

use std::path::Path;

use chrono::{DateTime, Utc};

use super::types::CronJobOptions;
use crate::runtime::ActorError;
use crate::vm::store::Store;

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
    pub fn open(path: &Path, vm: String) -> Result<Self, ActorError> {
        let store = Store::open(path, "cron jobs")?;
        Ok(Self { store, vm })
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
            .lock()
            .execute(
                "INSERT OR REPLACE INTO cron_jobs (vm, id, job_json, run_count, last_run, next_run)
                 VALUES (?1, ?2, ?3, 0, NULL, ?4)",
                (&self.vm, id, json, next_run.map(|at| at.to_rfc3339())),
            )
            .map(drop)
            .map_err(|e| self.store.error(e))
    }

    pub fn record_run(&self, id: &str, run_count: u32, at: &str) -> Result<(), ActorError> {
        self.store
            .lock()
            .execute(
                "UPDATE cron_jobs SET run_count = ?3, last_run = ?4 WHERE vm = ?1 AND id = ?2",
                (&self.vm, id, run_count, at),
            )
            .map(drop)
            .map_err(|e| self.store.error(e))
    }

    pub fn record_next(&self, id: &str, next_run: Option<DateTime<Utc>>) -> Result<(), ActorError> {
        self.store
            .lock()
            .execute(
                "UPDATE cron_jobs SET next_run = ?3 WHERE vm = ?1 AND id = ?2",
                (&self.vm, id, next_run.map(|at| at.to_rfc3339())),
            )
            .map(drop)
            .map_err(|e| self.store.error(e))
    }

    pub fn delete(&self, id: &str) -> Result<(), ActorError> {
        self.store
            .lock()
            .execute(
                "DELETE FROM cron_jobs WHERE vm = ?1 AND id = ?2",
                (&self.vm, id),
            )
            .map(drop)
            .map_err(|e| self.store.error(e))
    }

    /// Every saved job of this VM, by id.
    pub fn load(&self) -> Result<Vec<SavedJob>, ActorError> {
        let conn = self.store.lock();
        let mut query = conn
            .prepare(
                "SELECT job_json, run_count, last_run, next_run FROM cron_jobs WHERE vm = ?1
                 ORDER BY id",
            )
            .map_err(|e| self.store.error(e))?;
        let rows = query
            .query_map([&self.vm], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u32>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(|e| self.store.error(e))?;
        rows.map(|row| {
            let (json, run_count, last_run, next_run) = row.map_err(|e| self.store.error(e))?;
            let next_run = next_run
                .map(|at| DateTime::parse_from_rfc3339(&at).map(|at| at.with_timezone(&Utc)))
                .transpose()
                .map_err(|e| ActorError::internal(format!("a stored cron instant: {e}")))?;
            Ok(SavedJob {
                next_run,
                options: serde_json::from_str(&json)
                    .map_err(|e| ActorError::internal(format!("a stored cron job: {e}")))?,
                run_count,
                last_run,
            })
        })
        .collect()
    }
}
