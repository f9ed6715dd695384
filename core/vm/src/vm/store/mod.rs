//! The durable state of VMs (mount table, session events, cron jobs, registered toolkits,
//! root filesystem checkpoints) and of the embedded
//! host (its actor registry), in SQL on a [`Database`] the host provides: its SQLite file
//! (`host.sqlite`, shared by its VMs, each VM's rows under its own name) or the one it lends a
//! VM (on the Rivet Engine, the actor's own database in the engine's storage). Every reader and
//! writer goes through [`Store`], and the schema is defined here, once.

mod file;
mod registry;

use std::path::Path;
use std::sync::Arc;

use crate::runtime::ActorError;
use crate::runtime::database::{Cell, Database};

pub use file::SqliteFile;
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
    CREATE TABLE IF NOT EXISTS toolkits (
        vm TEXT NOT NULL,
        name TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        PRIMARY KEY (vm, name)
    );
    CREATE TABLE IF NOT EXISTS root_checkpoints (
        vm TEXT PRIMARY KEY,
        generation TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        chunks INTEGER NOT NULL,
        taken_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS root_chunks (
        vm TEXT NOT NULL,
        generation TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (vm, generation, seq)
    );
    CREATE TABLE IF NOT EXISTS preview_tokens (
        token TEXT PRIMARY KEY,
        vm TEXT NOT NULL,
        port INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
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
const UPGRADES: &[(&str, &str, &str)] = &[
    ("sessions", "end_reason", "TEXT"),
    ("sessions", "agent_session_id", "TEXT"),
];

/// A database with the schema up to date. Clones share it.
#[derive(Clone)]
pub struct Store(Arc<dyn Database>);

impl Store {
    /// The SQLite file at `path`, created if missing.
    pub fn open(path: &Path) -> Result<Self, ActorError> {
        Self::on(Arc::new(SqliteFile::open(path)?))
    }

    /// `db`, its tables created or upgraded.
    pub fn on(db: Arc<dyn Database>) -> Result<Self, ActorError> {
        db.execute_batch(SCHEMA)?;
        for (table, column, kind) in UPGRADES {
            let present = !db
                .query(
                    "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
                    crate::runtime::params![*table, *column],
                )?
                .is_empty();
            if !present {
                db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
            }
        }
        Ok(Self(db))
    }

    /// Runs one statement; how many rows it changed.
    pub fn execute(&self, sql: &str, params: Vec<Cell>) -> Result<u64, ActorError> {
        self.0.execute(sql, params)
    }

    /// Runs one query; its rows.
    pub fn query(&self, sql: &str, params: Vec<Cell>) -> Result<Vec<Vec<Cell>>, ActorError> {
        self.0.query(sql, params)
    }
}

/// A row's `N` columns, as the query that made it selected them.
pub fn columns<const N: usize>(row: Vec<Cell>) -> Result<[Cell; N], ActorError> {
    let found = row.len();
    row.try_into()
        .map_err(|_| ActorError::internal(format!("a stored row has {found} columns, not {N}")))
}
