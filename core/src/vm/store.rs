//! The SQLite file that keeps a VM's durable state — session events, cron jobs — shared with
//! the host and its other VMs, each VM's rows under its own name.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::runtime::ActorError;

/// One connection to the shared file, with `schema` applied.
pub struct Store {
    conn: Mutex<Connection>,
    /// What this store holds, for error messages.
    what: &'static str,
}

impl Store {
    pub fn open(path: &Path, what: &'static str, schema: &str) -> Result<Self, ActorError> {
        let error = |e: rusqlite::Error| ActorError::internal(format!("{what}: {e}"));
        let conn = Connection::open(path).map_err(error)?;
        // Other connections (the host's, other VMs') write to the same file.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(error)?;
        conn.execute_batch(&format!("PRAGMA journal_mode = WAL; {schema}"))
            .map_err(error)?;
        Ok(Self {
            conn: Mutex::new(conn),
            what,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns a SQLite failure into an `internal` error naming this store.
    pub fn error(&self, e: rusqlite::Error) -> ActorError {
        ActorError::internal(format!("{}: {e}", self.what))
    }
}
