//! The SQLite file a host keeps in its data directory (`host.sqlite`): the host's actor
//! registry and every VM's durable state (mount table, session events, cron jobs), each VM's
//! rows under its own name. Every reader and writer opens it through [`Store`], so all of
//! them use WAL and wait for each other's writes, and the schema is defined here, once.

mod registry;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::runtime::ActorError;

pub use registry::Registry;

/// The file's name in a host's data directory.
pub const FILE: &str = "host.sqlite";

/// Every table, created on open when missing. A column added after a release goes in
/// [`UPGRADES`], for files written before it.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS actors (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        id TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (name, key)
    );
    CREATE TABLE IF NOT EXISTS mounts (
        vm TEXT NOT NULL,
        path TEXT NOT NULL,
        driver_json TEXT NOT NULL,
        read_only INTEGER NOT NULL,
        PRIMARY KEY (vm, path)
    );
    CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        vm TEXT NOT NULL,
        agent_type TEXT NOT NULL,
        cwd TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT
    );
    CREATE TABLE IF NOT EXISTS session_events (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        update_json TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    );
    CREATE TABLE IF NOT EXISTS cron_jobs (
        vm TEXT NOT NULL,
        id TEXT NOT NULL,
        job_json TEXT NOT NULL,
        run_count INTEGER NOT NULL,
        last_run TEXT,
        next_run TEXT,
        PRIMARY KEY (vm, id)
    );
";

/// Columns added to a table of [`SCHEMA`] after files were written without them.
const UPGRADES: &[(&str, &str, &str)] = &[("sessions", "end_reason", "TEXT")];

/// One connection to the shared file, its schema up to date.
pub struct Store {
    conn: Mutex<Connection>,
    /// What this store holds, for error messages.
    what: &'static str,
}

impl Store {
    pub fn open(path: &Path, what: &'static str) -> Result<Self, ActorError> {
        let error = |e: rusqlite::Error| ActorError::internal(format!("{what}: {e}"));
        let conn = Connection::open(path).map_err(error)?;
        // Other connections (the host's, other VMs') write to the same file.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(error)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; {SCHEMA}"
        ))
        .map_err(error)?;
        for (table, column, kind) in UPGRADES {
            let present = conn
                .prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")
                .and_then(|mut q| q.exists((table, column)))
                .map_err(error)?;
            if !present {
                conn.execute(
                    &format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"),
                    [],
                )
                .map_err(error)?;
            }
        }
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
